import { describe, expect, it } from 'vitest';
import { readContract } from '../../test/support/contract';
import { AuditDataError, MAX_AUDIT_DATA_BYTES, secretKeyProblem, toStorableAuditData } from './audit-data';
import { parseInstant } from './audit-export';
import { AUDIT_EVENT_TYPES, isAuditEventType } from './audit-event-types';

describe('AUDIT_EVENT_TYPES', () => {
  it("is exactly the contract's list, in its order", () => {
    const section = readContract().split(/^## Administration and audit$/m)[1].split(/^## /m)[0];
    const listed = /Types:([\s\S]*?)\n- /.exec(section)![1];
    const types = [...listed.matchAll(/`([a-z_]+\.[a-z_]+)`/g)].map((match) => match[1]);
    expect(types.length).toBeGreaterThanOrEqual(20); // a parser that read nothing would pass below
    expect([...AUDIT_EVENT_TYPES]).toEqual(types);
  });

  it('recognises its own types only', () => {
    expect(isAuditEventType('user.login_failed')).toBe(true);
    expect(isAuditEventType('user.unknown')).toBe(false);
    expect(isAuditEventType(undefined)).toBe(false);
  });
});

describe('secretKeyProblem', () => {
  it.each([
    'password', 'newPassword', 'current_password', 'PASSWORD_HASH', 'passwd', 'pwd', 'passphrase',
    'token', 'refreshToken', 'access_token', 'mfaToken', 'resetTokenId',
    'secret', 'totpSecret', 'clientSecret',
    'code', 'totpCode', 'recoveryCodes', 'recovery-code',
    'hash', 'tokenHash', 'email', 'newEmail', 'emailTried', 'email_address',
    'otp', 'salt', 'key', 'privateKey', 'apiKey', 'cookie', 'authorization', 'credentials', 'signature', 'jwt',
  ])('refuses %s', (key) => {
    expect(secretKeyProblem(key)).toMatch(new RegExp(`"${key}"`));
  });

  it.each(['sessionId', 'roles', 'familyId', 'passkeyId', 'method', 'reason', 'count', 'remaining', 'previousRoles', 'codename', 'keyboard'])(
    'accepts %s',
    (key) => {
      expect(secretKeyProblem(key)).toBeUndefined();
    },
  );
});

describe('toStorableAuditData', () => {
  it('keeps plain details as they are', () => {
    const data = { sessionId: 'a5f0e1f2-3b4c-4d5e-8f60-718293a4b5c6', roles: ['user', 'admin'], count: 2, firstTime: true, reason: null };
    expect(toStorableAuditData(data)).toEqual(data);
  });

  it('refuses a secret-looking key at any depth, naming the key and never the value', () => {
    const secret = 'hunter2-very-secret-value';
    for (const data of [{ password: secret }, { nested: { refreshToken: secret } }, { list: [{ ok: 1 }, { totpCode: secret }] }]) {
      let error: unknown;
      try {
        toStorableAuditData(data);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AuditDataError);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('refuses what is not JSON, or too deep, or too big', () => {
    const refused: unknown[] = [
      null, [], 'text', new Date(), { when: new Date() }, { n: Number.NaN }, { n: Infinity }, { f: () => 1 },
      { list: [undefined] }, { big: 10n }, { nested: new Map() },
      { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } },
      { text: 'x'.repeat(MAX_AUDIT_DATA_BYTES) },
    ];
    for (const data of refused) expect(() => toStorableAuditData(data), String(data)).toThrow(AuditDataError);
  });

  it('leaves undefined properties out and writes -0 as 0', () => {
    expect(JSON.stringify(toStorableAuditData({ sessionId: undefined, count: -0 }))).toBe('{"count":0}');
  });

  it('never refuses text (it may come from a client): a NUL or a lone surrogate becomes U+FFFD', () => {
    expect(toStorableAuditData({ name: 'a\u0000b\uD800c' })).toEqual({ name: 'a\uFFFDb\uFFFDc' });
  });

  it('keeps a "__proto__" key as a key', () => {
    const stored = toStorableAuditData(JSON.parse('{"__proto__":{"x":1}}'));
    expect(JSON.stringify(stored)).toBe('{"__proto__":{"x":1}}');
  });
});

describe('parseInstant (audit:export --since/--until)', () => {
  const now = new Date('2026-11-29T12:00:00.000Z');

  it('reads a duration before now', () => {
    expect(parseInstant('7d', now)?.toISOString()).toBe('2026-11-22T12:00:00.000Z');
    expect(parseInstant('90s', now)?.toISOString()).toBe('2026-11-29T11:58:30.000Z');
    expect(parseInstant('12h', now)?.toISOString()).toBe('2026-11-29T00:00:00.000Z');
    expect(parseInstant('15m', now)?.toISOString()).toBe('2026-11-29T11:45:00.000Z');
  });

  it('reads an ISO 8601 date or date-time', () => {
    expect(parseInstant('2026-11-01', now)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseInstant('2026-11-01T10:30:00Z', now)?.toISOString()).toBe('2026-11-01T10:30:00.000Z');
    expect(parseInstant('2026-11-01T10:30:00+02:00', now)?.toISOString()).toBe('2026-11-01T08:30:00.000Z');
  });

  it('refuses anything else', () => {
    for (const value of ['', '7', '7w', '-7d', 'yesterday', '2026-13-01', '2026-11-01 10:30', 'Nov 1 2026']) {
      expect(parseInstant(value, now), value).toBeUndefined();
    }
  });
});
