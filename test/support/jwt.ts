import { createHmac, createSecretKey } from 'node:crypto';
import { keyId } from '../../src/tokens/jws';
import { TEST_JWT_SECRET } from './test-app';

export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

/** Builds an HS256 JWS by hand, so a test can forge any header and claims. */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer = TEST_JWT_SECRET): string {
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims of a valid access token for this user, which a test can then alter. */
export function accessClaims(sub: string, roles: string[] = ['user'], overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, roles, jti: `jti-${now}-${Math.random()}`, iat: now, exp: now + 900, iss: 'auth-service', aud: 'api', ...overrides };
}

/** The header of the service's access tokens under TEST_JWT_SECRET (kid: the key's RFC 7638 thumbprint). */
export const ACCESS_HEADER = { alg: 'HS256', typ: 'at+jwt', kid: keyId(createSecretKey(Buffer.from(TEST_JWT_SECRET))) };
