import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Module, RequestMethod } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { destination as fileDestination, DestinationStream } from 'pino';
import { loggingConfig, LoggingConfig } from './logging.config';

/** Optional provider: where the JSON lines go instead of stdout (createApp's `logDestination`). */
export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

export const REQUEST_ID_HEADER = 'x-request-id';
/** An upstream id is kept only when it is short and plain, so that it cannot forge a log line. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Every credential a log line could carry, wherever it sits; `*` is one level of nesting. */
const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'refreshToken', 'accessToken', 'token', 'secret'];
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

const stdout = fileDestination({ dest: 1, sync: true }); // a line is never lost in a buffer when the process dies

/**
 * nestjs-pino builds its pino logger once per process, with the first app's options.
 * So that each app of a process (one at a time, as in tests) logs to its own
 * destination at its own level, that logger writes here, and each app points it on.
 */
const processSink = {
  target: stdout as DestinationStream,
  write(line: string): void {
    this.target.write(line);
  },
};

/** Probes that would drown the log: they are counted in /metrics instead. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/**
 * JSON logs through pino (nestjs-pino): Nest's own logger and one line per request,
 * each with the request id that the response carries in X-Request-Id.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      imports: [ConfigModule.forFeature(loggingConfig)],
      inject: [loggingConfig.KEY, { token: LOG_DESTINATION, optional: true }],
      useFactory: ({ level }: LoggingConfig, destination?: DestinationStream) => {
        processSink.target = destination ?? stdout;
        if (PinoLogger.root) PinoLogger.root.level = level; // a logger built by an earlier app of this process
        const options = {
          level,
          redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
          // Fastify's request.id (see requestIdOf), which pino-http takes from the raw request.
          autoLogging: { ignore: (request: IncomingMessage & { originalUrl?: string }) => QUIET_PATHS.has(pathOf(request.originalUrl ?? request.url)) },
          // The request line keeps what helps an operator. Never a body, nor the query
          // string: a client may put a password there, and we never read one from it.
          serializers: {
            req: (request: { id: unknown; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
              id: request.id,
              method: request.method,
              url: pathOf(request.url),
              headers: request.headers,
              remoteAddress: request.remoteAddress,
            }),
            res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
          },
          customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
            error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
        };
        return {
          pinoHttp: [options, processSink],
          // Every request, also those no controller serves (/docs, 404s). The default,
          // '{/*splat}', is never matched under @fastify/middie 9, which prefixes it with '/'.
          forRoutes: [{ path: '/{*path}', method: RequestMethod.ALL }],
        };
      },
    }),
  ],
})
export class LoggingModule {}

/** Fastify's `genReqId`: the upstream proxy's X-Request-Id when it is plain, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const upstream = request.headers[REQUEST_ID_HEADER];
  return typeof upstream === 'string' && ACCEPTABLE_REQUEST_ID.test(upstream) ? upstream : randomUUID();
}

/** Every response carries the id its log lines carry. */
export function echoRequestId(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}

function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
