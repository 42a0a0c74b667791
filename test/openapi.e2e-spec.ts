import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMITTED_CONTRACT_PATH,
  contractRoutes,
  contractShapes,
  fieldsOf,
  SHARED_CONTRACT_PATH,
} from './support/contract';
import { startApp, TestApp } from './support/test-app';

/**
 * /docs-json against the route table of the contract (../shared/API.md), route for
 * route: method and path, query parameters, Bearer or not, body fields, the success
 * status and its body's fields, every failure status. Routes beyond the contract are
 * only the example extension module's (/projects).
 */

type Schema = { $ref?: string; type?: string; items?: Schema; properties?: Record<string, Schema>; required?: string[] };
interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, string>> };
}

const EXTENSION_PREFIXES = ['/projects'];

let app: TestApp;
let document: Document;

beforeAll(async () => {
  app = await startApp();
  const response = await fetch(`${app.url}/docs-json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as Document;
});

afterAll(async () => {
  await app?.close();
});

/** Follows a $ref (and an array's items) to the schema that has the properties. */
function resolve(schema: Schema | undefined): Schema {
  if (!schema) return {};
  if (schema.$ref) return resolve(document.components.schemas[schema.$ref.split('/').pop()!]);
  return schema;
}

function jsonSchema(content: Record<string, { schema: Schema }> | undefined): Schema | undefined {
  return content?.['application/json']?.schema;
}

function operation(method: string, path: string): Operation {
  const found = document.paths[path]?.[method];
  expect(found, `${method.toUpperCase()} ${path} is missing from /docs-json`).toBeDefined();
  return found!;
}

/**
 * Contract routes that are not built yet, by issue: the contract describes this whole wave
 * ahead of the code. Each issue deletes its own lines as it builds them; a route listed
 * here must really be missing from /docs-json (see the test), so the list cannot go stale.
 */
const PENDING_ROUTES: ReadonlySet<string> = new Set([
]);

const allRoutes = contractRoutes();
const routes = allRoutes.filter((route) => !PENDING_ROUTES.has(`${route.method} ${route.path}`));

describe('/docs-json matches the contract', () => {
  it('reads every route of the contract table', () => {
    // A parser that silently read nothing would make every test below pass.
    expect(routes.length).toBeGreaterThanOrEqual(16);
    expect(routes.map((route) => `${route.method} ${route.path}`)).toContain('patch /users/{id}/roles');
  });

  it('names as pending only routes of the contract that /docs-json does not document yet', () => {
    const contracted = new Set(allRoutes.map((route) => `${route.method} ${route.path}`));
    for (const key of PENDING_ROUTES) {
      expect(contracted.has(key), `${key} is not a route of the contract`).toBe(true);
      const [method, path] = key.split(' ');
      expect(document.paths[path]?.[method], `${key} is built: remove it from PENDING_ROUTES`).toBeUndefined();
    }
  });

  it('is OpenAPI 3 with the Bearer scheme', () => {
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('documents the contract error body', () => {
    expect(Object.keys(resolve({ $ref: 'ErrorBody' }).properties ?? {}).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  });

  describe.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))('%s', (_, route) => {
    it('has the same authentication', () => {
      const security = operation(route.method, route.path).security ?? [];
      expect(security).toEqual(route.bearer ? [{ bearer: [] }] : []);
    });

    it('has the same query parameters and body fields', () => {
      const op = operation(route.method, route.path);
      const query = (op.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
      expect(query.sort()).toEqual([...route.query].sort());
      if (route.body === null) {
        expect(op.requestBody).toBeUndefined();
        return;
      }
      const body = resolve(jsonSchema(op.requestBody?.content));
      expect(Object.keys(body.properties ?? {}).sort()).toEqual(route.body.map((field) => field.name).sort());
      expect([...(body.required ?? [])].sort()).toEqual(route.body.filter((field) => field.required).map((field) => field.name).sort());
    });

    it('answers the same success status and body', () => {
      const responses = operation(route.method, route.path).responses;
      const successes = Object.keys(responses).filter((status) => status.startsWith('2'));
      expect(successes).toEqual([String(route.successStatus)]);
      const schema = jsonSchema(responses[route.successStatus].content);
      const properties = (s: Schema | undefined) => Object.keys(resolve(s).properties ?? {}).sort();
      const shapes = contractShapes();
      const cell = route.successCell;
      if (/token response/.test(cell)) expect(properties(schema)).toEqual([...shapes.tokenResponse].sort());
      else if (/`\d{3}` user$/.test(cell)) expect(properties(schema)).toEqual([...shapes.user].sort());
      else if (/array of `/.test(cell)) {
        expect(resolve(schema).type).toBe('array');
        expect(properties(resolve(schema).items)).toEqual(fieldsOf(cell.split('`')[3]).map((f) => f.name).sort());
      } else if (/`\d{3} \{/.test(cell)) {
        const shape = /`\d{3} (\{[^`]+\})`/.exec(cell)![1];
        expect(properties(schema)).toEqual(fieldsOf(shape).map((f) => f.name).sort());
        if (shape.includes('[user')) expect(properties(resolve(schema).properties!.items.items)).toEqual([...shapes.user].sort());
      } else if (route.successStatus === 204) expect(schema).toBeUndefined();
    });

    it('lists every failure status, with the error body', () => {
      const responses = operation(route.method, route.path).responses;
      // A row naming several routes (GET and DELETE /users/me/passkeys…) shares its failures
      // cell: each status belongs to one of them at least (404 is the DELETE's).
      const row = route.row.map((key) => document.paths[key.split(' ')[1]]?.[key.split(' ')[0]]?.responses ?? {});
      for (const status of route.failureStatuses) {
        const documented = route.row.length > 1 ? row.some((other) => other[status] !== undefined) : responses[status] !== undefined;
        expect(documented, `${status} of ${route.method.toUpperCase()} ${route.path}`).toBe(true);
        if (responses[status]) expect(jsonSchema(responses[status].content)).toEqual({ $ref: '#/components/schemas/ErrorBody' });
      }
      if (route.role) expect(responses['403']).toBeDefined();
    });
  });

  it('documents no route beyond the contract but the extension module', () => {
    const contracted = new Set(allRoutes.map((route) => `${route.method} ${route.path}`));
    const extra = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
      .filter((key) => !contracted.has(key));
    expect(extra.length).toBeGreaterThan(0);
    for (const key of extra) expect(EXTENSION_PREFIXES.some((prefix) => key.split(' ')[1].startsWith(prefix)), key).toBe(true);
  });

  it('uses the committed copy of the contract only when it is the same as ../shared/API.md', () => {
    if (!existsSync(SHARED_CONTRACT_PATH)) return; // a clone on its own has the copy only
    expect(readFileSync(COMMITTED_CONTRACT_PATH, 'utf8'), 'copy ../shared/API.md to docs/API.md').toBe(readFileSync(SHARED_CONTRACT_PATH, 'utf8'));
  });
});

describe('/docs', () => {
  it('serves the interactive page and its assets under the security headers', async () => {
    const page = await fetch(`${app.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      const asset = await fetch(new URL(script, `${app.url}/docs`));
      expect(asset.status, script).toBe(200);
      expect((await asset.text()).length, script).toBeGreaterThan(0); // reading it also frees the connection
    }
  });
});
