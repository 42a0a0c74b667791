import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { connectionErrorResponse } from './error-response';

/**
 * Fastify's `clientErrorHandler`: Node's parser refuses some requests before Fastify sees
 * them (headers over `maxHeaderSize`, a timeout, malformed HTTP) and Fastify's default
 * answer has no `code`. This one writes the contract's body, then closes the connection.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Node's own rule: no answer when a response on this connection has already started.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || current?.headersSent) {
    socket.destroy(error);
    return;
  }
  const { status, body } = connectionErrorResponse(error.code);
  const json = JSON.stringify(body);
  // end() then destroy once flushed: destroying at once may reset the connection before the answer is read.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
