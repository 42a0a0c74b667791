import { BadRequestException, HttpException, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { QueryFailedError } from 'typeorm';
import { ApiError } from './api-error';
import { connectionErrorResponse, DATABASE_RETRY_AFTER_SECONDS, toErrorResponse } from './error-response';

beforeAll(() => {
  Logger.overrideLogger(false); // the 500 and 503 paths log on purpose
});

function withCode(code: string, message = 'failed', extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('toErrorResponse', () => {
  it('keeps the code of an ApiError and adds statusCode and error', () => {
    const response = toErrorResponse(new ApiError(409, 'email_taken', 'Email already registered'));
    expect(response).toEqual({
      status: 409,
      headers: {},
      body: { statusCode: 409, message: 'Email already registered', error: 'Conflict', code: 'email_taken' },
    });
  });

  it('keeps the extra fields of an ApiError and an array message', () => {
    const response = toErrorResponse(new ApiError(400, 'validation_failed', ['email must be an email'], { field: 'email' }));
    expect(response.body).toEqual({
      field: 'email',
      statusCode: 400,
      message: ['email must be an email'],
      error: 'Bad Request',
      code: 'validation_failed',
    });
  });

  it('gives a Nest HttpException without a code the default code of its status', () => {
    expect(toErrorResponse(new BadRequestException('bad')).body).toMatchObject({ statusCode: 400, code: 'validation_failed', message: 'bad' });
    expect(toErrorResponse(new HttpException('slow down', 429)).body).toMatchObject({ code: 'rate_limited', message: 'slow down' });
    expect(toErrorResponse(new HttpException('teapot', 418)).body).toMatchObject({ statusCode: 418, code: 'internal_error' });
  });

  it('answers "Route not found" for Nest\'s not-found message, never echoing the request', () => {
    const response = toErrorResponse(new NotFoundException('Cannot GET /secret?password=x'));
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ statusCode: 404, message: 'Route not found', error: 'Not Found', code: 'not_found' });
    expect(JSON.stringify(response)).not.toContain('secret');
    expect(JSON.stringify(response)).not.toContain('password');
  });

  it('keeps the message of any other 404', () => {
    expect(toErrorResponse(new ApiError(404, 'not_found', 'User not found')).body.message).toBe('User not found');
  });

  it('maps a wrapped FST_ERR_CTP_INVALID_JSON_BODY to 400 validation_failed with an array message, hiding the parser message', () => {
    const cause = withCode('FST_ERR_CTP_INVALID_JSON_BODY', 'Unexpected token in JSON: {"password":"hunter2', { statusCode: 400 });
    const response = toErrorResponse(new HttpException('Unexpected token in JSON: {"password":"hunter2', 400, { cause }));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
    expect(Array.isArray(response.body.message)).toBe(true);
    expect(response.body.message).toEqual(['Request body is not valid JSON']);
    expect(JSON.stringify(response)).not.toContain('hunter2');
  });

  it('maps FST_ERR_CTP_BODY_TOO_LARGE to 413 payload_too_large, wrapped or not', () => {
    const cause = withCode('FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large', { statusCode: 413 });
    for (const exception of [new HttpException('Request body is too large', 413, { cause }), cause]) {
      const response = toErrorResponse(exception);
      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({ statusCode: 413, code: 'payload_too_large', error: 'Payload Too Large' });
    }
  });

  it('maps FST_ERR_CTP_INVALID_MEDIA_TYPE to 415 unsupported_media_type', () => {
    const cause = withCode('FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type: text/plain', { statusCode: 415 });
    expect(toErrorResponse(new HttpException('Unsupported Media Type', 415, { cause }))).toMatchObject({
      status: 415,
      body: { code: 'unsupported_media_type' },
    });
  });

  it('maps ECONNREFUSED to 503 database_unavailable with Retry-After 5', () => {
    const response = toErrorResponse(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'));
    expect(DATABASE_RETRY_AFTER_SECONDS).toBe(5);
    expect(response).toEqual({
      status: 503,
      headers: { 'Retry-After': '5' },
      body: {
        statusCode: 503,
        message: 'The database is unavailable; retry later',
        error: 'Service Unavailable',
        code: 'database_unavailable',
      },
    });
  });

  it('adds Retry-After to any 503 HttpException', () => {
    const response = toErrorResponse(new ServiceUnavailableException('down'));
    expect(response.headers).toEqual({ 'Retry-After': '5' });
    expect(response.body.code).toBe('database_unavailable');
  });

  it('maps a unique violation to 409 conflict, not 503, without the query or its parameters', () => {
    const error = new QueryFailedError('INSERT INTO users', ['$2b$04$secrethash'], withCode('23505', 'duplicate key value'));
    const response = toErrorResponse(error);
    expect(response.status).toBe(409);
    expect(response.headers).toEqual({});
    expect(response.body).toMatchObject({ statusCode: 409, code: 'conflict', error: 'Conflict' });
    expect(JSON.stringify(response)).not.toContain('secrethash');
  });

  it('maps an invalid-input SQLSTATE (class 22) to 400 validation_failed', () => {
    const error = new QueryFailedError('SELECT', ['not-a-uuid'], withCode('22P02', 'invalid input syntax for type uuid'));
    expect(toErrorResponse(error)).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('maps any other failed query to 503', () => {
    const error = new QueryFailedError('SELECT', [], withCode('42P01', 'relation does not exist'));
    expect(toErrorResponse(error)).toMatchObject({ status: 503, headers: { 'Retry-After': '5' }, body: { code: 'database_unavailable' } });
  });

  it('keeps the status of a client error that carries a 4xx statusCode', () => {
    const error = Object.assign(new Error('Header is too long'), { statusCode: 431 });
    expect(toErrorResponse(error)).toMatchObject({ status: 431, body: { statusCode: 431, code: 'headers_too_large' } });
    const other = Object.assign(new Error('I am a teapot'), { statusCode: 418 });
    expect(toErrorResponse(other)).toMatchObject({ status: 418, body: { statusCode: 418, code: 'validation_failed' } });
  });

  it('answers what Node refuses before routing with the contract\'s body and a code', () => {
    expect(connectionErrorResponse('HPE_HEADER_OVERFLOW')).toEqual({
      status: 431,
      headers: {},
      body: { statusCode: 431, message: 'Request headers are larger than 16 KiB', error: 'Request Header Fields Too Large', code: 'headers_too_large' },
    });
    expect(connectionErrorResponse('ERR_HTTP_REQUEST_TIMEOUT').body).toMatchObject({ statusCode: 408, code: 'request_timeout' });
    expect(connectionErrorResponse('HPE_INVALID_METHOD').body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
    expect(connectionErrorResponse('constructor').body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
  });

  it('answers an unknown Error with 500 internal_error, without its message', () => {
    const response = toErrorResponse(new Error('secret internal detail'));
    expect(response).toEqual({
      status: 500,
      headers: {},
      body: { statusCode: 500, message: 'Internal server error', error: 'Internal Server Error', code: 'internal_error' },
    });
  });

  it('does not mistake an error code that names an Object property for a Fastify error', () => {
    const error = Object.assign(new Error('odd'), { code: 'constructor' });
    expect(toErrorResponse(error)).toMatchObject({ status: 500, body: { statusCode: 500, code: 'internal_error' } });
  });

  it('answers a thrown non-Error with 500', () => {
    expect(toErrorResponse('a string').status).toBe(500);
    expect(toErrorResponse(null).status).toBe(500);
    expect(toErrorResponse(undefined).status).toBe(500);
  });

  it('adds WWW-Authenticate to 401 token errors: invalid_token for token_invalid, bare Bearer for token_missing', () => {
    expect(toErrorResponse(new ApiError(401, 'token_invalid', 'Access token is invalid')).headers).toEqual({
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
    expect(toErrorResponse(new ApiError(401, 'token_expired', 'expired')).headers).toEqual({
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
    expect(toErrorResponse(new ApiError(401, 'token_missing', 'Bearer token is missing')).headers).toEqual({
      'WWW-Authenticate': 'Bearer',
    });
  });

  it('adds no WWW-Authenticate to a 401 that is not about the token', () => {
    expect(toErrorResponse(new ApiError(401, 'invalid_credentials', 'Wrong email or password')).headers).toEqual({});
  });
});
