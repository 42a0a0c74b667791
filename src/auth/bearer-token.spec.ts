import { describe, expect, it } from 'vitest';
import { ApiError } from '../common/api-error';
import { bearerToken, MAX_BEARER_TOKEN_LENGTH } from './bearer-token';

type Headers = Record<string, string | string[] | undefined>;

/** The ApiError that bearerToken throws for these headers. */
function rejection(headers: Headers): { status: number; code: unknown } {
  try {
    bearerToken({ headers });
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    return { status: apiError.getStatus(), code: (apiError.getResponse() as { code?: unknown }).code };
  }
  throw new Error('expected bearerToken to throw');
}

describe('bearerToken', () => {
  it('answers 401 token_missing without an Authorization header', () => {
    expect(rejection({})).toEqual({ status: 401, code: 'token_missing' });
  });

  it('answers 401 token_missing for an empty Authorization header', () => {
    expect(rejection({ authorization: '' })).toEqual({ status: 401, code: 'token_missing' });
  });

  it('answers 401 token_invalid for another scheme', () => {
    expect(rejection({ authorization: 'Basic abc' })).toEqual({ status: 401, code: 'token_invalid' });
  });

  it.each([
    ['no token after the scheme', 'Bearer '],
    ['a token that is not a compact JWS', 'Bearer abc'],
    ['trailing garbage', 'Bearer a.b.c extra'],
    ['four segments', 'Bearer a.b.c.d'],
    ['characters outside base64url', 'Bearer a+b.c.d'],
    ['an empty header segment', 'Bearer .b.c'],
  ])('answers 401 token_invalid for %s', (_, authorization) => {
    expect(rejection({ authorization })).toEqual({ status: 401, code: 'token_invalid' });
  });

  it('answers 401 token_invalid for a refresh token, saying that refresh tokens go to POST /auth/refresh', () => {
    for (const authorization of ['Bearer rt_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', 'bearer  rt_x-y_z']) {
      try {
        bearerToken({ headers: { authorization } });
        throw new Error('expected bearerToken to throw');
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        const body = (error as ApiError).getResponse() as { code: string; message: string };
        expect((error as ApiError).getStatus()).toBe(401);
        expect(body.code).toBe('token_invalid');
        expect(body.message).toContain('POST /auth/refresh');
      }
    }
    // Any other malformed header keeps the general message.
    expect(() => bearerToken({ headers: { authorization: 'Bearer abc' } })).toThrow(/Bearer <access token>/);
  });

  it('reads the scheme case-insensitively and allows several spaces (RFC 7235, RFC 6750)', () => {
    expect(bearerToken({ headers: { authorization: 'bearer a.b.c' } })).toBe('a.b.c');
    expect(bearerToken({ headers: { authorization: 'BEARER  a.b.c' } })).toBe('a.b.c');
  });

  it('answers 401 token_invalid for a repeated header (an array)', () => {
    expect(rejection({ authorization: ['Bearer a.b.c', 'Bearer d.e.f'] })).toEqual({ status: 401, code: 'token_invalid' });
  });

  it('refuses a well-formed header longer than 8 KiB of token', () => {
    const token = `${'a'.repeat(MAX_BEARER_TOKEN_LENGTH)}.b.c`; // well-formed, but too long
    expect(MAX_BEARER_TOKEN_LENGTH).toBe(8192);
    expect(rejection({ authorization: `Bearer ${token}` })).toEqual({ status: 401, code: 'token_invalid' });
  });

  it('accepts a token of exactly 8 KiB', () => {
    const token = `${'a'.repeat(MAX_BEARER_TOKEN_LENGTH - 4)}.b.c`;
    expect(token).toHaveLength(MAX_BEARER_TOKEN_LENGTH);
    expect(bearerToken({ headers: { authorization: `Bearer ${token}` } })).toBe(token);
  });

  it('returns the token of a well-formed Bearer header', () => {
    expect(bearerToken({ headers: { authorization: 'Bearer a.b.c' } })).toBe('a.b.c');
    const jws = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_-nature';
    expect(bearerToken({ headers: { authorization: `Bearer ${jws}` } })).toBe(jws);
  });
});
