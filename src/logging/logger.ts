import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { destination as fileDestination, DestinationStream, pino } from 'pino';
import type { LogLevel } from './logging.config';

export const REQUEST_ID_HEADER = 'x-request-id';
/** An upstream id is kept only when it is short and plain, so that it cannot forge a log line. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Credentials a logged object could carry: at the top level, or in one of the usual
 * containers. Paths are spelled out: pino's `*` wildcards cost several times the line itself
 * (docs/BENCHMARKS.md).
 */
const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'refreshToken', 'accessToken', 'token', 'secret'];
const CONTAINERS = ['body', 'user', 'input', 'data', 'dto', 'credentials', 'req', 'request', 'params', 'query'];
const CREDENTIAL_HEADERS = ['authorization', 'cookie', '["set-cookie"]'];
export const REDACTED_PATHS = [
  ...SECRET_FIELDS,
  ...CONTAINERS.flatMap((container) => SECRET_FIELDS.map((field) => `${container}.${field}`)),
  ...['headers', 'req.headers', 'request.headers', 'res.headers', 'response.headers'].flatMap((headers) =>
    CREDENTIAL_HEADERS.map((header) => `${headers}.${header}`),
  ),
];

/** Probes that would drown the log: they are counted in /metrics instead. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

const stdout = fileDestination({ dest: 1, sync: true }); // a line is never lost in a buffer when the process dies

/** The destination of the process's logger; createApp points it at stdout or at a test's stream. */
const sink = {
  target: stdout as DestinationStream,
  write(line: string): void {
    this.target.write(line);
  },
};

/**
 * The one pino logger of the process: Fastify's request logger and, through nestjs-pino,
 * Nest's. One per process because nestjs-pino keeps one; each app sets its level and
 * destination at creation (one app runs at a time, as in tests).
 */
export const rootLogger = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[Redacted]' } }, sink);

export function configureLogger(level: LogLevel, destination?: DestinationStream): void {
  rootLogger.level = level;
  sink.target = destination ?? stdout;
}

/** Fastify's `genReqId`: the upstream proxy's X-Request-Id when it is plain, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const upstream = request.headers[REQUEST_ID_HEADER];
  return typeof upstream === 'string' && ACCEPTABLE_REQUEST_ID.test(upstream) ? upstream : randomUUID();
}

/**
 * One line per request, written by Fastify's request logger (which binds `reqId`) when
 * the response is done, and the id in X-Request-Id. The line keeps what helps an
 * operator: never a body, headers or the query string (a client may put a password there).
 */
export function logRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const path = pathOf(request.url);
    if (!QUIET_PATHS.has(path)) request.log[levelOf(reply)](requestLine(request, reply, path), 'request completed');
    done();
  });
}

function requestLine(request: FastifyRequest, reply: FastifyReply, path: string) {
  const userAgent = request.headers['user-agent'];
  // Flat fields: Fastify's serializers would reshape objects named req and res.
  return {
    method: request.method,
    url: path,
    route: request.routeOptions.url,
    statusCode: reply.statusCode,
    responseTime: Math.round(reply.elapsedTime * 100) / 100,
    ip: request.ip,
    userAgent,
  };
}

function levelOf(reply: FastifyReply): 'info' | 'warn' | 'error' {
  return reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warn' : 'info';
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
