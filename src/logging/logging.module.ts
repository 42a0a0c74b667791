import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { rootLogger } from './logger';

/**
 * Nest's logger (nestjs-pino) writes through the process's pino logger, the one Fastify
 * logs requests with (see logger.ts). No per-request middleware: nestjs-pino's would run
 * pino-http and AsyncLocalStorage on every request, which cost more than the rest of a
 * request (docs/BENCHMARKS.md); lines logged about a request name its id themselves (`reqId`).
 */
@Module({
  imports: [LoggerModule.forRoot({ pinoHttp: { logger: rootLogger }, forRoutes: [] })],
})
export class LoggingModule {}
