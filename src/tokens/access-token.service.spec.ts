import { createSecretKey, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Role } from '../common/auth';
import { AccessTokenService } from './access-token.service';
import { keyId } from './jws';
import type { TokensConfig } from './tokens.config';

function service(verifiedCacheSize: number): AccessTokenService {
  const key = createSecretKey(randomBytes(32));
  const kid = keyId(key);
  const config: TokensConfig = {
    algorithm: 'HS256',
    signingKey: key,
    signingKid: kid,
    verificationKeys: new Map([[kid, key]]),
    publicJwks: [],
    issuer: 'auth-service',
    audience: 'api',
    accessTtlSeconds: 900,
    refreshTtlSeconds: 86400,
    verifiedCacheSize,
  };
  return new AccessTokenService(config);
}

const SUBJECT = { id: '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11', roles: [Role.User] };

afterEach(() => {
  vi.useRealTimers();
});

describe('AccessTokenService: tokens remembered after a good verification', () => {
  it('answers a token presented again with the same claims', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT);
    const first = tokens.verify(token);
    expect(first).toMatchObject({ valid: true, claims: { sub: SUBJECT.id, roles: ['user'] } });
    expect(tokens.verify(token)).toEqual(first);
  });

  it('still expires a remembered token, with the clock leeway', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z') });
    const tokens = service(10);
    const token = tokens.sign(SUBJECT);
    expect(tokens.verify(token).valid).toBe(true);
    vi.setSystemTime(new Date('2026-11-22T10:15:29Z')); // 900 s + 29 s: within the leeway
    expect(tokens.verify(token).valid).toBe(true);
    vi.setSystemTime(new Date('2026-11-22T10:16:01Z'));
    expect(tokens.verify(token)).toEqual({ valid: false, expired: true });
    expect(tokens.verify(token)).toEqual({ valid: false, expired: true }); // forgotten, verified in full
  });

  it('verifies any other text in full: one changed character fails', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT);
    expect(tokens.verify(token).valid).toBe(true);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(tokens.verify(`${token.slice(0, -1)}${last}`)).toEqual({ valid: false, expired: false });
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...SUBJECT, sub: 'someone-else' })).toString('base64url');
    expect(tokens.verify(`${header}.${forged}.${signature}`).valid).toBe(false);
  });

  it('never remembers a failed verification', () => {
    const tokens = service(10);
    const other = service(10).sign(SUBJECT); // another key
    expect(tokens.verify(other).valid).toBe(false);
    expect(tokens.verify(other).valid).toBe(false);
  });

  it('holds at most its capacity, dropping the oldest; 0 remembers nothing', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z') });
    const tokens = service(2);
    const [a, b, c] = [1, 2, 3].map((n) => tokens.sign({ ...SUBJECT, id: `user-${n}` }));
    for (const token of [a, b, c]) tokens.verify(token);
    const remembered = (tokens as unknown as { verified: Map<string, unknown> }).verified;
    expect([...remembered.keys()]).toEqual([b, c]);

    const none = service(0);
    none.verify(none.sign(SUBJECT));
    expect((none as unknown as { verified: Map<string, unknown> }).verified.size).toBe(0);
  });

  it('hands out frozen claims, so that no request can change what the next one gets', () => {
    const tokens = service(10);
    const token = tokens.sign(SUBJECT);
    const verification = tokens.verify(token);
    if (!verification.valid) throw new Error('expected a valid token');
    expect(() => verification.claims.roles.push(Role.Admin)).toThrow(TypeError);
    expect(() => {
      (verification.claims as { sub: string }).sub = 'x';
    }).toThrow(TypeError);
    expect(tokens.verify(token)).toMatchObject({ claims: { sub: SUBJECT.id, roles: ['user'] } });
  });
});
