import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import { DynamicModule, Module, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { answerClientError } from './common/client-error';
import { toErrorResponse } from './common/error-response';
import { setupOpenApi } from './common/openapi-document';
import { registerJsonBodyParser } from './common/json-body';
import { createValidationPipe } from './common/validation';
import { appConfig, AppConfig, fastifyTrustProxy } from './config/app.config';
import { configureLogger, logRequests, requestIdOf, rootLogger } from './logging/logger';
import { loggingConfig } from './logging/logging.config';
import { MetricsService } from './metrics/metrics.service';

export const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the whole HTTP service. `main.ts`, the end-to-end tests and the benchmark
 * all start the service through here, so they test what runs in production.
 */
export interface CreateAppOptions {
  /** Nest's logger until the JSON logger is up (`false`: none); start-up failures are logged here. */
  logger?: NestApplicationOptions['logger'];
  /** Where the JSON log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
  /** Extra modules mounted beside AppModule, behind the same global guards (benchmarks, test probes). */
  modules?: Array<Type | DynamicModule>;
}

export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  configureLogger(loggingConfig().level, options.logDestination);
  const adapter = new FastifyAdapter({
    loggerInstance: rootLogger,
    // logRequests() writes one line per request, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(appConfig().trustProxy),
    return503OnClosing: true,
    genReqId: requestIdOf,
    // Errors Fastify raises before routing (a malformed URL, an over-long path parameter)
    // never reach Nest's filters: they get the contract's body here, never echoing the URL.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { status, headers, body } = toErrorResponse(error, request.id);
      void reply.code(status).headers(headers).send(body);
    },
    // Earlier still, Node's parser refuses oversized headers (431) and malformed requests.
    clientErrorHandler: answerClientError,
  });
  const root = options.modules?.length ? withModules(options.modules) : AppModule;
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    abortOnError: false,
    // Fastify's own JSON parser only: Nest would add a urlencoded one, and the contract is JSON in.
    bodyParser: false,
    bufferLogs: true, // start-up lines wait for the JSON logger instead of going to the console
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  try {
    app.useLogger(app.get(Logger));
    await configureApp(app);
    await app.init(); // runs the start-up hooks (migrations, admin account) before anyone listens
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

async function configureApp(app: NestFastifyApplication): Promise<void> {
  const config = app.get<AppConfig>(appConfig.KEY);
  const fastify = app.getHttpAdapter().getInstance();

  // JSON only: a text/plain body gets 415 instead of reaching a DTO as a string.
  fastify.removeContentTypeParser('text/plain');
  registerJsonBodyParser(fastify);
  logRequests(fastify);
  // The JWT guard sets request.user: declared up front, every request object keeps one
  // shape, and the code that handles requests stays monomorphic (Fastify's advice).
  fastify.decorateRequest('user', null);
  endConnectionsWhileClosing(fastify);
  app.get(MetricsService).recordRequests(fastify);

  await app.register(helmet);
  await app.register(cookie);
  // With CORS_ORIGINS unset no CORS headers are sent, so browsers allow no cross-origin call.
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins, credentials: true });

  setupOpenApi(app);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  app.enableShutdownHooks();
}

/**
 * On SIGTERM the server closes its idle keep-alive connections, but a connection busy
 * with a request is kept open after its response until the idle timeout (72 s), and
 * shutdown waits for it. While closing, each response therefore ends its connection.
 */
function endConnectionsWhileClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });
}

function withModules(modules: Array<Type | DynamicModule>): Type {
  @Module({ imports: [AppModule, ...modules] })
  class AppWithExtraModules {}
  return AppWithExtraModules;
}
