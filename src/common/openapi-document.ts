import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { PUBLIC_OPERATION_EXTENSION } from './auth';
import { ErrorBody, errorResponse } from './openapi';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';
const BEARER = 'bearer';

type Operation = Record<string, unknown> & { responses: Record<string, unknown>; security?: unknown[] };

/**
 * Serves the interactive page at /docs and the OpenAPI 3 document at /docs-json.
 * The document is built once, at start, from the controllers' decorators.
 */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Auth service')
    .setDescription(
      'Users, login, rotating refresh tokens and sessions. Errors are `{ statusCode, message, error, code }`; ' +
        'clients branch on `code`. Log in with POST /auth/login, then Authorize with the access token.',
    )
    .setVersion('1')
    .addTag('auth', 'Register, log in, refresh, log out, sessions')
    .addTag('users', 'The caller, and users for admins')
    .addTag('mfa', "TOTP and recovery codes, and the login's second step")
    .addTag('passkeys', 'WebAuthn: add, list and remove passkeys, and log in with one')
    .addTag('keys', 'Public keys that verify access tokens')
    .addTag('health')
    .addTag('projects (example module)', 'docs/EXTENDING.md builds this module step by step')
    .addTag('docs')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER)
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorBody] });
  secureByDefault(document);
  describeDocsRoutes(document);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: DOCS_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Auth service API',
    // validatorUrl null: the page never calls swagger.io to validate the document.
    swaggerOptions: { validatorUrl: null, tryItOutEnabled: true, displayRequestDuration: true },
  });
  return document;
}

/**
 * Mirrors the global JWT guard: an operation is Bearer-only, with its 401, unless its
 * handler is @Public(). A new module's routes are documented as protected without a decorator.
 */
function secureByDefault(document: OpenAPIObject): void {
  for (const operation of operations(document)) {
    if (operation[PUBLIC_OPERATION_EXTENSION]) {
      delete operation[PUBLIC_OPERATION_EXTENSION];
      operation.security = [];
      continue;
    }
    operation.security = [{ [BEARER]: [] }];
    operation.responses['401'] ??= errorResponse(401);
  }
}

/** SwaggerModule serves these two itself, outside any controller; the contract lists them. */
function describeDocsRoutes(document: OpenAPIObject): void {
  const page = (summary: string, type: string, schema: object) => ({
    get: { summary, tags: ['docs'], security: [], responses: { '200': { description: summary, content: { [type]: { schema } } } } },
  });
  document.paths[`/${DOCS_PATH}`] = page('The interactive API page', 'text/html', { type: 'string' });
  document.paths[`/${DOCS_JSON_PATH}`] = page('This OpenAPI 3 document', 'application/json', { type: 'object' });
}

function operations(document: OpenAPIObject): Operation[] {
  const methods = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;
  return Object.values(document.paths).flatMap((item) =>
    methods.flatMap((method) => (item[method] ? [item[method] as unknown as Operation] : [])),
  );
}
