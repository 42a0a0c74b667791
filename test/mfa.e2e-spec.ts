import { createHash } from 'node:crypto';
import { Secret, TOTP, URI } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MfaChallengeService } from '../src/mfa/mfa-challenge.service';
import { MfaCrypto } from '../src/mfa/mfa-crypto';
import { MfaLifecycle } from '../src/mfa/mfa.lifecycle';
import { PasskeysService } from '../src/mfa/passkeys.service';
import { TotpService } from '../src/mfa/totp.service';
import { controlClock, createUser, expectApiError } from './support/mfa';
import { startApp, TestApp } from './support/test-app';

/**
 * TotpService and MfaChallengeService on the real app and database. Codes are computed with
 * otpauth from the secret setup() returned, at times set on the service's clock.
 */
const STEP = 30_000;
/** The middle of a 30-second step, near today (the rows' other timestamps come from the database). */
const BASE = Math.floor(Date.now() / STEP) * STEP + STEP / 2;

let app: TestApp;
let totp: TotpService;
let challenges: MfaChallengeService;
let clock: ReturnType<typeof controlClock>;

beforeAll(async () => {
  app = await startApp();
  totp = app.app.get(TotpService);
  challenges = app.app.get(MfaChallengeService);
  clock = controlClock(app, BASE);
});

afterAll(async () => {
  await app?.close();
});

beforeEach(() => clock.set(BASE));

/** The code an authenticator app shows `steps` steps from the clock's time. */
function code(secret: string, steps = 0): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now + steps * STEP });
}

/** A user with TOTP on, enabled at the clock's time minus `ago` steps. */
async function enabledUser(ago = 0) {
  const user = await createUser(app);
  const { secret } = await totp.setup(user.id, user.email);
  clock.advance(-ago * STEP);
  const recoveryCodes = await totp.enable(user.id, code(secret));
  clock.advance(ago * STEP);
  return { ...user, secret, recoveryCodes };
}

describe('TOTP setup', () => {
  it('returns a base32 secret and the otpauth URL of the contract, for a secret authenticator apps read back', async () => {
    const user = await createUser(app, 'ada+totp');
    const { secret, otpauthUrl } = await totp.setup(user.id, user.email);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    expect(otpauthUrl).toBe(`otpauth://totp/auth-service:${encodeURIComponent(user.email)}?secret=${secret}&issuer=auth-service`);
    expect(otpauthUrl).toContain('ada%2Btotp-');

    const parsed = URI.parse(otpauthUrl) as TOTP;
    expect(parsed).toBeInstanceOf(TOTP);
    expect({ issuer: parsed.issuer, label: parsed.label, algorithm: parsed.algorithm, digits: parsed.digits, period: parsed.period }).toEqual({
      issuer: 'auth-service',
      label: user.email,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(parsed.secret.base32).toBe(secret);
    expect(await totp.isEnabled(user.id)).toBe(false); // pending until enabled
  });

  it('enables with a code of the secret, returning 10 distinct recovery codes of 50 bits', async () => {
    const user = await createUser(app);
    const { secret } = await totp.setup(user.id, user.email);
    const recoveryCodes = await totp.enable(user.id, code(secret));
    expect(recoveryCodes).toHaveLength(10);
    for (const recovery of recoveryCodes) expect(recovery).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    expect(new Set(recoveryCodes).size).toBe(10);
    expect(await totp.isEnabled(user.id)).toBe(true);
    expect(await totp.remainingRecoveryCodes(user.id)).toBe(10);

    await expectApiError(totp.setup(user.id, user.email), 409, 'mfa_already_enabled');
    await expectApiError(totp.enable(user.id, code(secret, 1)), 409, 'mfa_already_enabled');
  });

  it('refuses to enable without a setup (409 mfa_setup_required) and with a wrong code (400 mfa_code_invalid)', async () => {
    const user = await createUser(app);
    await expectApiError(totp.enable(user.id, '123456'), 409, 'mfa_setup_required');
    const { secret } = await totp.setup(user.id, user.email);
    const wrong = String((Number(code(secret)) + 1) % 1_000_000).padStart(6, '0');
    await expectApiError(totp.enable(user.id, wrong), 400, 'mfa_code_invalid');
    await expectApiError(totp.enable(user.id, 'abcdef'), 400, 'mfa_code_invalid');
    expect(await totp.isEnabled(user.id)).toBe(false);
  });

  it('replaces a pending secret when setup is called again: only the new one enables', async () => {
    const user = await createUser(app);
    const first = await totp.setup(user.id, user.email);
    const second = await totp.setup(user.id, user.email);
    expect(second.secret).not.toBe(first.secret);
    await expectApiError(totp.enable(user.id, code(first.secret)), 400, 'mfa_code_invalid');
    await expect(totp.enable(user.id, code(second.secret))).resolves.toHaveLength(10);
  });

  it("writes in the caller's transaction: a setup rolled back with it leaves nothing to enable", async () => {
    const user = await createUser(app);
    let secret = '';
    await app.dataSource
      .transaction(async (manager) => {
        secret = (await totp.setup(user.id, user.email, manager)).secret;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await expectApiError(totp.enable(user.id, code(secret)), 409, 'mfa_setup_required');
  });
});

describe('TOTP codes', () => {
  it('accepts a code once: the same code again is refused', async () => {
    const user = await enabledUser(10);
    const now = code(user.secret);
    expect(await totp.verifyCode(user.id, now)).toBe(true);
    expect(await totp.verifyCode(user.id, now)).toBe(false);
  });

  it('refuses the code that enabled TOTP: enabling spent it', async () => {
    const user = await createUser(app);
    const { secret } = await totp.setup(user.id, user.email);
    await totp.enable(user.id, code(secret));
    expect(await totp.verifyCode(user.id, code(secret))).toBe(false);
  });

  it('lets exactly one of two concurrent uses of one code through', async () => {
    const user = await enabledUser(10);
    const now = code(user.secret);
    const results = await Promise.all([totp.verifyCode(user.id, now), totp.verifyCode(user.id, now)]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('accepts one step of drift either way, and then no step at or before the one used', async () => {
    const user = await enabledUser(10);
    expect(await totp.verifyCode(user.id, code(user.secret, -1))).toBe(true);
    expect(await totp.verifyCode(user.id, code(user.secret, +1))).toBe(true);
    // The current step is inside the window but before the last one used: a replay window closes.
    expect(await totp.verifyCode(user.id, code(user.secret, 0))).toBe(false);
  });

  it('refuses two steps of drift either way', async () => {
    const user = await enabledUser(10);
    expect(await totp.verifyCode(user.id, code(user.secret, -2))).toBe(false);
    expect(await totp.verifyCode(user.id, code(user.secret, +2))).toBe(false);
    expect(await totp.verifyCode(user.id, code(user.secret, 0))).toBe(true); // the user's codes do work
  });

  it('refuses codes of a user without TOTP, of a pending setup, and malformed ones', async () => {
    const none = await createUser(app);
    expect(await totp.verifyCode(none.id, '123456')).toBe(false);
    const pending = await createUser(app);
    const { secret } = await totp.setup(pending.id, pending.email);
    expect(await totp.verifyCode(pending.id, code(secret))).toBe(false);
    const user = await enabledUser(10);
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code(user.secret)}0`]) {
      expect(await totp.verifyCode(user.id, bad)).toBe(false);
    }
    expect(await totp.verifyCode(user.id, ` ${code(user.secret).slice(0, 3)} ${code(user.secret).slice(3)} `)).toBe(true);
  });
});

describe('recovery codes', () => {
  it('each works once, typed in any case, with or without the hyphen', async () => {
    const user = await enabledUser();
    const [first, second, third] = user.recoveryCodes;
    expect(await totp.useRecoveryCode(user.id, first)).toBe(true);
    expect(await totp.useRecoveryCode(user.id, first)).toBe(false);
    expect(await totp.useRecoveryCode(user.id, second.toUpperCase().replace('-', ''))).toBe(true);
    expect(await totp.useRecoveryCode(user.id, ` ${third.slice(0, 5)} ${third.slice(6)} `)).toBe(true);
    expect(await totp.useRecoveryCode(user.id, 'zzzzz-zzzzz')).toBe(false);
    expect(await totp.useRecoveryCode(user.id, 'not a code')).toBe(false);
    expect(await totp.remainingRecoveryCodes(user.id)).toBe(7);
  });

  it("are one user's only: another user's code does not work", async () => {
    const owner = await enabledUser();
    const other = await enabledUser();
    expect(await totp.useRecoveryCode(other.id, owner.recoveryCodes[0])).toBe(false);
    expect(await totp.useRecoveryCode(owner.id, owner.recoveryCodes[0])).toBe(true);
  });

  it('lets exactly one of two concurrent uses of one code through', async () => {
    const user = await enabledUser();
    const results = await Promise.all([totp.useRecoveryCode(user.id, user.recoveryCodes[4]), totp.useRecoveryCode(user.id, user.recoveryCodes[4])]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('are replaced by regenerate: the earlier ones stop working', async () => {
    const user = await enabledUser();
    const fresh = await totp.regenerateRecoveryCodes(user.id);
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => user.recoveryCodes.includes(c))).toEqual([]);
    expect(await totp.useRecoveryCode(user.id, user.recoveryCodes[0])).toBe(false);
    expect(await totp.useRecoveryCode(user.id, fresh[0])).toBe(true);
    expect(await totp.remainingRecoveryCodes(user.id)).toBe(9);
  });

  it('are stored as hashes, never as the codes', async () => {
    const user = await enabledUser();
    const rows: Array<{ code_hash: string }> = await app.dataSource.query('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1', [user.id]);
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const recovery of user.recoveryCodes) {
      expect(stored).not.toContain(recovery);
      expect(stored).not.toContain(recovery.replace('-', ''));
      expect(stored).not.toContain(createHash('sha256').update(recovery.replace('-', '')).digest('hex'));
    }
  });

  it('cannot be regenerated without TOTP on (404 mfa_not_enabled)', async () => {
    const user = await createUser(app);
    await expectApiError(totp.regenerateRecoveryCodes(user.id), 404, 'mfa_not_enabled');
  });
});

describe('disable', () => {
  it('removes the secret and the recovery codes; codes then fail, and a second disable is 404 mfa_not_enabled', async () => {
    const user = await enabledUser(10);
    await totp.disable(user.id);
    expect(await totp.isEnabled(user.id)).toBe(false);
    expect(await totp.verifyCode(user.id, code(user.secret))).toBe(false);
    expect(await totp.useRecoveryCode(user.id, user.recoveryCodes[0])).toBe(false);
    const [{ n }] = await app.dataSource.query(
      'SELECT (SELECT count(*) FROM mfa_totp WHERE user_id = $1) + (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1) AS n',
      [user.id],
    );
    expect(Number(n)).toBe(0);
    await expectApiError(totp.disable(user.id), 404, 'mfa_not_enabled');
    await expectApiError(totp.regenerateRecoveryCodes(user.id), 404, 'mfa_not_enabled');
  });

  it('tells which of several users have TOTP on, in one call', async () => {
    const on = await enabledUser();
    const pending = await createUser(app);
    await totp.setup(pending.id, pending.email);
    const off = await createUser(app);
    expect(await totp.enabledAmong([on.id, pending.id, off.id])).toEqual(new Set([on.id]));
    expect(await totp.enabledAmong([])).toEqual(new Set());
  });

  it('is 404 mfa_not_enabled for a setup never enabled', async () => {
    const user = await createUser(app);
    await totp.setup(user.id, user.email);
    await expectApiError(totp.disable(user.id), 404, 'mfa_not_enabled');
  });
});

describe('the secret at rest', () => {
  it('is AES-GCM ciphertext bound to its user: not the secret, and it does not decrypt for another user', async () => {
    const user = await enabledUser(10);
    const other = await createUser(app);
    const [row]: Array<{ secret_ciphertext: Buffer }> = await app.dataSource.query('SELECT secret_ciphertext FROM mfa_totp WHERE user_id = $1', [user.id]);
    const secretBytes = Buffer.from(Secret.fromBase32(user.secret).buffer);
    expect(row.secret_ciphertext).toHaveLength(12 + 16 + 20);
    expect(row.secret_ciphertext.includes(secretBytes)).toBe(false);
    expect(row.secret_ciphertext.toString('latin1')).not.toContain(user.secret);

    const crypto = app.app.get(MfaCrypto);
    expect(crypto.decryptSecret(user.id, row.secret_ciphertext)).toEqual(secretBytes);
    expect(() => crypto.decryptSecret(other.id, row.secret_ciphertext)).toThrow();

    // The row copied onto another user: that user's codes (the same secret's) are refused.
    await app.dataSource.query(`INSERT INTO mfa_totp (user_id, secret_ciphertext, enabled_at) SELECT $2, secret_ciphertext, now() FROM mfa_totp WHERE user_id = $1`, [
      user.id,
      other.id,
    ]);
    expect(await totp.isEnabled(other.id)).toBe(true);
    expect(await totp.verifyCode(other.id, code(user.secret))).toBe(false);
    expect(await totp.verifyCode(user.id, code(user.secret))).toBe(true);
  });
});

describe('MFA challenges (the mfaToken)', () => {
  const pass = async () => true;
  const fail = async () => false;

  it('is 256 random bits in base64url, stored only as its SHA-256, and passes once', async () => {
    const user = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows: Array<Record<string, unknown>> = await app.dataSource.query('SELECT * FROM mfa_challenges WHERE user_id = $1', [user.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0].token_hash).toBe(createHash('sha256').update(token).digest('hex'));

    const check = vi.fn(pass);
    await expect(challenges.verify(token, check)).resolves.toEqual({ userId: user.id, amr: ['pwd'] });
    expect(check).toHaveBeenCalledWith(user.id, expect.anything());
    await expectApiError(challenges.verify(token, pass), 401, 'mfa_token_invalid');
  });

  it('is 401 mfa_token_invalid for an unknown or malformed token', async () => {
    await expectApiError(challenges.verify('A'.repeat(43), pass), 401, 'mfa_token_invalid');
    await expectApiError(challenges.verify('not a token', pass), 401, 'mfa_token_invalid');
    await expectApiError(challenges.verify('', pass), 401, 'mfa_token_invalid');
  });

  it('counts wrong codes: the 5th kills it, and then even a right one is mfa_token_invalid', async () => {
    const user = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await expectApiError(challenges.verify(token, fail), 401, 'mfa_code_invalid');
    }
    const check = vi.fn(pass);
    await expectApiError(challenges.verify(token, check), 401, 'mfa_token_invalid');
    expect(check).not.toHaveBeenCalled();
  });

  it('survives 4 wrong codes', async () => {
    const user = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await expectApiError(challenges.verify(token, fail), 401, 'mfa_code_invalid');
    }
    await expect(challenges.verify(token, pass)).resolves.toMatchObject({ userId: user.id });
  });

  it('lives 5 minutes', async () => {
    const user = await createUser(app);
    const early = await challenges.start(user.id, ['pwd']);
    const late = await challenges.start(user.id, ['pwd']);
    clock.advance(299_000);
    await expect(challenges.verify(early, pass)).resolves.toMatchObject({ userId: user.id });
    clock.advance(1_000);
    await expectApiError(challenges.verify(late, pass), 401, 'mfa_token_invalid');
  });

  it('lets one of two concurrent right answers through', async () => {
    const user = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    const results = await Promise.allSettled([challenges.verify(token, pass), challenges.verify(token, pass)]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('spends a TOTP code and the token together, in one transaction with what completes the login', async () => {
    const user = await enabledUser(10);
    const token = await challenges.start(user.id, ['pwd']);
    const now = code(user.secret);
    const check = (userId: string, manager: Parameters<typeof totp.verifyCode>[2]) => totp.verifyCode(userId, now, manager);

    // What completes the login fails (a database error, say): neither the token nor the code is spent.
    await expect(
      challenges.verify(token, check, async () => {
        throw new Error('session could not be opened');
      }),
    ).rejects.toThrow('session could not be opened');
    await expect(challenges.verify(token, check, async (passed) => ({ opened: passed.userId }))).resolves.toEqual({ opened: user.id });
    expect(await totp.verifyCode(user.id, now)).toBe(false);
  });

  it('spends a recovery code through the same check', async () => {
    const user = await enabledUser(10);
    const token = await challenges.start(user.id, ['pwd']);
    const wrong = await challenges.verify(await challenges.start(user.id, ['pwd']), (id, m) => totp.useRecoveryCode(id, 'zzzzz-zzzzz', m)).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error);
    await expect(challenges.verify(token, (id, m) => totp.useRecoveryCode(id, user.recoveryCodes[0], m))).resolves.toMatchObject({ userId: user.id });
    expect(await totp.useRecoveryCode(user.id, user.recoveryCodes[0])).toBe(false);
  });

  it("is started in the caller's transaction: rolled back, the token is unknown", async () => {
    const user = await createUser(app);
    let token = '';
    await app.dataSource
      .transaction(async (manager) => {
        token = await challenges.start(user.id, ['pwd'], manager);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await expectApiError(challenges.verify(token, pass), 401, 'mfa_token_invalid');
  });

  it("ends with the user's disabling (the lifecycle participant), with the user's passkey challenges", async () => {
    const user = await createUser(app);
    const other = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    const otherToken = await challenges.start(other.id, ['pwd']);
    await app.app.get(PasskeysService).loginOptions(user.email);
    await app.app.get(PasskeysService).registrationOptions(user);
    const count = async () => Number((await app.dataSource.query('SELECT count(*) AS n FROM webauthn_challenges WHERE user_id = $1', [user.id]))[0].n);
    expect(await count()).toBe(2);

    await app.dataSource.transaction((manager) => app.app.get(MfaLifecycle).onUserDisabled(user.id, manager));
    await expectApiError(challenges.verify(token, pass), 401, 'mfa_token_invalid');
    expect(await count()).toBe(0);
    await expect(challenges.verify(otherToken, pass)).resolves.toMatchObject({ userId: other.id });
  });

  it("goes with its user's account", async () => {
    const user = await createUser(app);
    const token = await challenges.start(user.id, ['pwd']);
    await app.dataSource.query('DELETE FROM users WHERE id = $1', [user.id]);
    await expectApiError(challenges.verify(token, pass), 401, 'mfa_token_invalid');
  });
});
