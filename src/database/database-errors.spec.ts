import { describe, expect, it } from 'vitest';
import { QueryFailedError, TypeORMError } from 'typeorm';
import { isDatabaseFailure, isInvalidInput, isUniqueViolation } from './database-errors';

function withCode(code: string, message = 'failed'): Error {
  return Object.assign(new Error(message), { code });
}

function queryFailed(code: string): QueryFailedError {
  return new QueryFailedError('INSERT INTO users ...', ['secret-hash'], withCode(code, `database error ${code}`));
}

describe('isUniqueViolation', () => {
  it('recognises a QueryFailedError wrapping SQLSTATE 23505', () => {
    expect(isUniqueViolation(queryFailed('23505'))).toBe(true);
  });

  it('reads the driver error, not a code copied onto the QueryFailedError', () => {
    const error = queryFailed('23505');
    (error as unknown as { code: string }).code = '99999';
    expect(isUniqueViolation(error)).toBe(true);
  });

  it('recognises a bare driver error with code 23505', () => {
    expect(isUniqueViolation(withCode('23505'))).toBe(true);
  });

  it.each([
    ['another SQLSTATE', queryFailed('23503')],
    ['ECONNREFUSED', withCode('ECONNREFUSED')],
    ['57P01', withCode('57P01')],
    ['a TypeORMError', new TypeORMError('boom')],
    ['a plain Error', new Error('boom')],
    ['a numeric code', Object.assign(new Error('boom'), { code: 23505 })],
    ['null', null],
    ['undefined', undefined],
    ['a string', '23505'],
  ])('is false for %s', (_, error) => {
    expect(isUniqueViolation(error)).toBe(false);
  });
});

describe('isDatabaseFailure', () => {
  it.each([
    ['a QueryFailedError (23505 included)', queryFailed('23505')],
    ['a QueryFailedError with another SQLSTATE', queryFailed('42P01')],
    ['an Error with code ECONNREFUSED', withCode('ECONNREFUSED')],
    ['an Error with code ECONNRESET', withCode('ECONNRESET')],
    ['an Error with code ETIMEDOUT', withCode('ETIMEDOUT')],
    ['SQLSTATE 57P01 (admin shutdown)', withCode('57P01')],
    ['SQLSTATE 08006 (connection failure)', withCode('08006')],
    ['SQLSTATE 53300 (too many connections)', withCode('53300')],
    ['a TypeORMError', new TypeORMError('Driver not connected')],
    ['"Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
    ['a PGlite lease timeout', new Error('timeout exceeded when trying to connect to PGlite')],
    ['"PGlite is closed"', new Error('PGlite is closed')],
  ])('is true for %s', (_, error) => {
    expect(isDatabaseFailure(error)).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('Something else went wrong')],
    ['an Error with an unrelated code', withCode('ERR_INVALID_ARG_TYPE')],
    ['SQLSTATE 23505 outside a QueryFailedError', withCode('23505')],
    ['null', null],
    ['undefined', undefined],
    ['a string mentioning a connection error', 'connection error'],
  ])('is false for %s', (_, error) => {
    expect(isDatabaseFailure(error)).toBe(false);
  });
});

describe('isInvalidInput', () => {
  it('is true for a QueryFailedError of SQLSTATE class 22', () => {
    expect(isInvalidInput(queryFailed('22P02'))).toBe(true);
    expect(isInvalidInput(queryFailed('22001'))).toBe(true);
  });

  it('is false for other classes and for errors that are not QueryFailedErrors', () => {
    expect(isInvalidInput(queryFailed('23505'))).toBe(false);
    expect(isInvalidInput(withCode('22P02'))).toBe(false);
    expect(isInvalidInput(new Error('boom'))).toBe(false);
  });
});
