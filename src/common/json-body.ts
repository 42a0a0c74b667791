import type { FastifyInstance } from 'fastify';

/** Deeper bodies are refused: no DTO of the contract nests past a few levels. */
export const MAX_JSON_DEPTH = 32;

export class JsonBodyError extends Error {
  readonly statusCode = 400;
  constructor(readonly code: 'BODY_TOO_DEEP' | 'BODY_MALFORMED_UNICODE') {
    super(code);
  }
}

/**
 * Fastify's own JSON parser (prototype-poisoning checks included), then one pass over
 * the value that refuses what would break the layers after it: nesting past
 * MAX_JSON_DEPTH (class-transformer recurses and overflows the stack) and strings with
 * lone surrogates (validator's isEmail throws on them; they are not valid UTF-8 text).
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      const problem = inspect(value);
      return problem ? done(new JsonBodyError(problem), undefined) : done(null, value);
    });
  });
}

function inspect(root: unknown): JsonBodyError['code'] | undefined {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return 'BODY_MALFORMED_UNICODE';
    } else if (typeof value === 'object' && value !== null) {
      if (depth > MAX_JSON_DEPTH) return 'BODY_TOO_DEEP';
      for (const [key, child] of Object.entries(value)) {
        if (!key.isWellFormed()) return 'BODY_MALFORMED_UNICODE';
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
