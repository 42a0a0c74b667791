import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** Settles once the response has gone to the client, or the client went away. */
export interface Answered {
  readonly sent: Promise<void>;
}

/**
 * The route's Answered: the raw response's `close`, which follows `finish`. For work that
 * must not delay the answer, nor run while it is being written (see EmailRequestsWorker). An
 * object, not the promise itself: Nest awaits a parameter's value, which would wait for
 * the answer before the handler runs.
 */
export const WhenAnswered = createParamDecorator((_: unknown, context: ExecutionContext): Answered => {
  const reply = context.switchToHttp().getResponse<FastifyReply>();
  const sent = new Promise<void>((resolve) => {
    if (reply.raw.closed) resolve();
    else reply.raw.once('close', () => resolve());
  });
  return { sent };
});
