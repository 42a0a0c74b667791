import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailRequestsWorker } from '../src/account-email/email-requests.worker';
import { AuditService } from '../src/audit/audit.service';
import { authed, GOOD_PASSWORD, register, uniqueEmail } from './support/api';
import { QUICK_MAIL } from './support/mail';
import { type ReceivedMail, TestSmtpServer } from './support/smtp';
import { createTestDatabase, startApp, TestApp } from './support/test-app';

/**
 * The contract's Email section and its routes, end to end: the real service on PGlite or
 * PostgreSQL (DATABASE_URL), mail through the outbox to a real SMTP server (smtp-server),
 * each message parsed, each link's token taken from the message and used as its page would.
 */

/** The default APP_URL: every link starts with it. */
const APP_URL = 'http://localhost:3000';
const NEW_PASSWORD = 'a brand new passphrase 42';

const SUBJECT = {
  verify: 'Verify your email address',
  reset: 'Reset your password',
  confirm: 'Confirm your new email address',
  passwordChanged: 'Your password was changed',
  passwordReset: 'Your password was reset',
  changeRequested: 'A change of your email address was requested',
  emailChanged: 'Your email address was changed',
} as const;

const LINK_PATH = { verify: '/verify-email', reset: '/reset-password', confirm: '/confirm-email-change' } as const;

const ADMIN = { email: `admin.${process.pid}@example.com`, password: 'the admin passphrase 1' };

let smtp: TestSmtpServer;

beforeAll(async () => {
  smtp = await TestSmtpServer.start();
});

afterAll(async () => {
  await smtp?.stop();
});

/** Waits for `count` messages to this address with this subject. */
function mailTo(address: string, subject: string, count = 1): Promise<ReceivedMail[]> {
  return smtp.waitFor(count, (mail) => mail.envelope.to.includes(address) && mail.parsed.subject === subject);
}

/** The token of the message's link to `path`, checked to be the contract's shape in both parts. */
function linkToken(mail: ReceivedMail, path: string): string {
  const text = String(mail.parsed.text);
  const match = new RegExp(`${APP_URL}${path}\\?token=([A-Za-z0-9_-]+)\\n`).exec(text);
  expect(match, `a ${path} link in:\n${text}`).not.toBeNull();
  const token = match![1];
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits in base64url
  expect(String(mail.parsed.html)).toContain(`href="${APP_URL}${path}?token=${token}"`);
  return token;
}

/** What a notice says, and that it carries no link with a token. */
function noticeText(mail: ReceivedMail): string {
  const text = String(mail.parsed.text);
  expect(text).not.toMatch(/token=/);
  expect(String(mail.parsed.html)).not.toMatch(/token=/);
  expect(text).toContain('If this was not you');
  return text;
}

/** The requests of forgot and resend, handled now rather than on the worker's own time. */
const settled = (app: TestApp) => app.app.get(EmailRequestsWorker).runOnce();

async function outboxCount(app: TestApp, to: string, template?: string): Promise<number> {
  const [row]: Array<{ n: number }> = await app.dataSource.query(
    `SELECT count(*)::int AS n FROM mail_outbox WHERE "to" = $1 AND ($2::text IS NULL OR template = $2)`,
    [to, template ?? null],
  );
  return row.n;
}

async function eventTypes(app: TestApp, userId: string): Promise<string[]> {
  const rows: Array<{ type: string }> = await app.dataSource.query('SELECT type FROM audit_events WHERE user_id = $1 ORDER BY seq', [userId]);
  return rows.map((row) => row.type);
}

async function userRow(app: TestApp, id: string) {
  const [row]: Array<{ email: string; email_verified_at: Date | null; mfa_enabled: boolean; password_hash: string }> = await app.dataSource.query(
    'SELECT email, email_verified_at, mfa_enabled, password_hash FROM users WHERE id = $1',
    [id],
  );
  return row;
}

const post = (app: TestApp, path: string, body: object) => request(app.url).post(path).send(body);

/** The headers a 202 carries, but those that differ on every response (the per-IP count goes down with each request, whatever the address). */
function stableHeaders(response: request.Response): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, 'x-ratelimit-remaining': _remaining, 'x-ratelimit-reset': _reset, ...rest } = response.headers;
  return rest;
}

describe('with EMAIL_VERIFICATION=optional (the default)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ SMTP_URL: smtp.url, EMAIL_RATE_LIMIT: '3', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...QUICK_MAIL });
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('verification', () => {
    it('register → a verification mail → its link → the address is verified, once; only the hash is stored, the token leaves the outbox', async () => {
      const user = await register(app);
      expect(user.accessToken).toBeDefined(); // optional: logged in at once
      expect(user.user).toMatchObject({ email: user.email, emailVerified: false });

      const [mail] = await mailTo(user.email, SUBJECT.verify);
      expect(mail.parsed.text).toBeTypeOf('string');
      expect(mail.parsed.html).toBeTypeOf('string');
      const token = linkToken(mail, LINK_PATH.verify);

      // The link opens this service's page, which posts the token to the API.
      const page = await request(app.url).get(`${LINK_PATH.verify}?token=${token}`).expect(200);
      expect(page.text).toContain('data-page="verify_email"');
      expect(page.text).not.toContain(token);

      const stored: Array<Record<string, unknown>> = await app.dataSource.query('SELECT * FROM email_tokens WHERE user_id = $1', [user.user.id]);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ purpose: 'verify_email', token_hash: createHash('sha256').update(token).digest('hex'), used_at: null });
      expect(JSON.stringify(stored)).not.toContain(token);
      const outbox: Array<{ params: Record<string, unknown>; status: string }> = await app.dataSource.query(
        `SELECT params, status FROM mail_outbox WHERE "to" = $1`,
        [user.email],
      );
      expect(outbox).toMatchObject([{ status: 'sent' }]);
      expect(outbox[0].params).not.toHaveProperty('token');

      const verified = await post(app, '/auth/email/verify', { token }).expect(200);
      expect(verified.headers['cache-control']).toBe('no-store');
      expect(verified.body).toEqual({ ...user.user, emailVerified: true, updatedAt: expect.any(String) });
      const me = await authed(app, 'get', '/users/me', user.accessToken).expect(200);
      expect(me.body.emailVerified).toBe(true);
      expect((await userRow(app, user.user.id)).email_verified_at).toBeInstanceOf(Date);
      expect(await eventTypes(app, user.user.id)).toContain('user.email_verified');

      const again = await post(app, '/auth/email/verify', { token }).expect(400);
      expect(again.body).toMatchObject({ statusCode: 400, code: 'verification_token_invalid' });
    });

    it('answers 400 verification_token_invalid for an unknown, a malformed, an expired or a reset token; 400 validation_failed for a body without a string token', async () => {
      const user = await register(app);
      const token = linkToken((await mailTo(user.email, SUBJECT.verify))[0], LINK_PATH.verify);
      await app.dataSource.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.user.id]);
      const someone = await register(app);
      await post(app, '/auth/password/forgot', { email: someone.email }).expect(202);
      const resetToken = linkToken((await mailTo(someone.email, SUBJECT.reset))[0], LINK_PATH.reset);

      for (const candidate of [token, resetToken, 'x'.repeat(43), 'short', 'a+b/c='.repeat(8), 'é'.repeat(43)]) {
        const response = await post(app, '/auth/email/verify', { token: candidate }).expect(400);
        expect(response.body.code, candidate).toBe('verification_token_invalid');
        expect(JSON.stringify(response.body)).not.toContain(candidate);
      }
      for (const body of [{}, { token: null }, { token: 42 }, { token: ['x'] }, { token: 'x'.repeat(513) }, { token: 'x'.repeat(43), extra: 1 }]) {
        expect((await post(app, '/auth/email/verify', body).expect(400)).body.code, JSON.stringify(body)).toBe('validation_failed');
      }
      expect((await userRow(app, user.user.id)).email_verified_at).toBeNull();
      // The reset token was not spent by its use as a verification token.
      await post(app, '/auth/password/reset', { token: resetToken, newPassword: NEW_PASSWORD }).expect(204);
    });

    it('spends a token once when the same link is posted many times at once', async () => {
      const user = await register(app);
      const token = linkToken((await mailTo(user.email, SUBJECT.verify))[0], LINK_PATH.verify);
      const responses = await Promise.all(Array.from({ length: 6 }, () => post(app, '/auth/email/verify', { token })));
      expect(responses.map((response) => response.status).sort()).toEqual([200, 400, 400, 400, 400, 400]);
      expect((await eventTypes(app, user.user.id)).filter((type) => type === 'user.email_verified')).toHaveLength(1);
    });
  });

  describe('POST /auth/email/verify/resend', () => {
    it('sends a new link to an unverified account; the same 202 for an unknown address, a verified account, and past the per-address limit', async () => {
      const pending = await register(app);
      const [first] = await mailTo(pending.email, SUBJECT.verify);
      const done = await register(app);
      await post(app, '/auth/email/verify', { token: linkToken((await mailTo(done.email, SUBJECT.verify))[0], LINK_PATH.verify) }).expect(200);
      const unknown = uniqueEmail('nobody');

      const responses = [];
      for (const email of [pending.email, unknown, done.email, pending.email.toUpperCase()]) {
        responses.push(await post(app, '/auth/email/verify/resend', { email }).expect(202));
      }
      await settled(app);
      const bodies = new Set(responses.map((response) => JSON.stringify(response.body)));
      expect([...bodies]).toHaveLength(1);
      expect(responses[0].body).toEqual({ message: expect.any(String) });
      expect(new Set(responses.map((response) => JSON.stringify(stableHeaders(response))))).toHaveLength(1);

      // Two new links for the pending account (the upper-case address is the same address), each a new token.
      const mails = await mailTo(pending.email, SUBJECT.verify, 3);
      const tokens = mails.map((mail) => linkToken(mail, LINK_PATH.verify));
      expect(new Set(tokens).size).toBe(3);
      expect(await outboxCount(app, unknown)).toBe(0);
      expect(await outboxCount(app, done.email, 'verify_email')).toBe(1); // the registration's only
      // An older link still works: a newer one may be slower to arrive.
      await post(app, '/auth/email/verify', { token: linkToken(first, LINK_PATH.verify) }).expect(200);
    });

    it('queues at most EMAIL_RATE_LIMIT messages per address per window, and still answers 202', async () => {
      const user = await register(app);
      await mailTo(user.email, SUBJECT.verify);
      const statuses = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await post(app, '/auth/email/verify/resend', { email: user.email })).status);
      await settled(app);
      expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
      expect(await outboxCount(app, user.email, 'verify_email')).toBe(1 + 3); // the registration's, then EMAIL_RATE_LIMIT=3
    });

    it('answers 400 for a malformed address, echoing nothing', async () => {
      for (const email of ['not-an-address', '', 'a@b@c', `${'x'.repeat(250)}@example.com`, 'pаypal@example.com']) {
        const response = await post(app, '/auth/email/verify/resend', { email }).expect(400);
        expect(response.body.code).toBe('validation_failed');
      }
      expect((await post(app, '/auth/email/verify/resend', { email: 7 }).expect(400)).body.code).toBe('validation_failed');
    });
  });

  describe('forgot and reset', () => {
    it('forgot: a reset link for an account; the same 202 for an unknown address and a disabled account, with nothing queued and no event naming them', async () => {
      const user = await register(app);
      const disabled = await register(app);
      await app.dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.user.id]);
      const unknown = uniqueEmail('nobody');
      const [{ n: eventsBefore }]: Array<{ n: number }> = await app.dataSource.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE type = 'user.password_reset_requested'`,
      );

      const responses = [];
      for (const email of [user.email, unknown, disabled.email]) responses.push(await post(app, '/auth/password/forgot', { email }).expect(202));
      await settled(app);
      expect(new Set(responses.map((response) => JSON.stringify(response.body)))).toEqual(new Set([JSON.stringify(responses[0].body)]));
      expect(new Set(responses.map((response) => JSON.stringify(stableHeaders(response))))).toHaveLength(1);

      const [mail] = await mailTo(user.email, SUBJECT.reset);
      linkToken(mail, LINK_PATH.reset);
      expect(String(mail.parsed.text)).toContain('ignore this message');
      expect(await outboxCount(app, unknown)).toBe(0);
      expect(await outboxCount(app, disabled.email, 'reset_password')).toBe(0);
      const [{ n: eventsAfter }]: Array<{ n: number }> = await app.dataSource.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE type = 'user.password_reset_requested'`,
      );
      expect(eventsAfter - eventsBefore).toBe(1);
      expect(await eventTypes(app, user.user.id)).toContain('user.password_reset_requested');
      const [{ n: naming }]: Array<{ n: number }> = await app.dataSource.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE data::text LIKE $1 OR user_agent LIKE $1`,
        [`%${unknown.split('@')[0]}%`],
      );
      expect(naming).toBe(0);
    });

    it('forgot: at most EMAIL_RATE_LIMIT links per address per window, every request still 202', async () => {
      const user = await register(app);
      for (let i = 0; i < 5; i += 1) await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      await settled(app);
      expect(await outboxCount(app, user.email, 'reset_password')).toBe(3);
      expect((await post(app, '/auth/password/forgot', { email: 'nope' }).expect(400)).body.code).toBe('validation_failed');
    });

    it('reset: sets the password, ends every session at once, spends every reset link, verifies the address, mails a notice, opens no session', async () => {
      const user = await register(app); // session 1
      const login = await post(app, '/auth/login', { email: user.email, password: user.password }).expect(200); // session 2
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const [older, newer] = (await mailTo(user.email, SUBJECT.reset, 2)).map((mail) => linkToken(mail, LINK_PATH.reset));

      // Outside the policy: 400, and the link still works.
      const weak = await post(app, '/auth/password/reset', { token: newer, newPassword: 'password123' }).expect(400);
      expect(weak.body.code).toBe('validation_failed');
      expect(JSON.stringify(weak.body)).not.toContain('password123');

      const reset = await post(app, '/auth/password/reset', { token: newer, newPassword: NEW_PASSWORD }).expect(204);
      expect(reset.body).toEqual({});
      expect(reset.headers['set-cookie']).toBeUndefined();

      // Every session ended at once: the access tokens of both, and the refresh token.
      expect((await authed(app, 'get', '/users/me', user.accessToken).expect(401)).body.code).toBe('token_revoked');
      expect((await authed(app, 'get', '/users/me', login.body.accessToken).expect(401)).body.code).toBe('token_revoked');
      await post(app, '/auth/refresh', { refreshToken: login.body.refreshToken }).expect(401);
      const [{ live }]: Array<{ live: number }> = await app.dataSource.query(
        'SELECT count(*)::int AS live FROM sessions WHERE user_id = $1 AND revoked_at IS NULL',
        [user.user.id],
      );
      expect(live).toBe(0);
      const reasons: Array<{ revoked_reason: string }> = await app.dataSource.query('SELECT revoked_reason FROM sessions WHERE user_id = $1', [user.user.id]);
      expect(reasons.map((row) => row.revoked_reason)).toEqual(['password_reset', 'password_reset']);

      // This link and the other one are spent.
      for (const token of [newer, older]) {
        expect((await post(app, '/auth/password/reset', { token, newPassword: 'yet another passphrase' }).expect(400)).body.code).toBe('reset_token_invalid');
      }
      await post(app, '/auth/login', { email: user.email, password: user.password }).expect(401);
      const fresh = await post(app, '/auth/login', { email: user.email, password: NEW_PASSWORD }).expect(200);
      expect(fresh.body.user.emailVerified).toBe(true);

      const notice = noticeText((await mailTo(user.email, SUBJECT.passwordReset))[0]);
      expect(notice).toContain('reset through a link');
      expect(await eventTypes(app, user.user.id)).toEqual(expect.arrayContaining(['user.password_reset_requested', 'user.password_reset']));
    });

    it('reset: never turns MFA off', async () => {
      const user = await register(app);
      await app.dataSource.query('UPDATE users SET mfa_enabled = true WHERE id = $1', [user.user.id]);
      await app.dataSource.query(`INSERT INTO mfa_totp (user_id, secret_ciphertext, enabled_at) VALUES ($1, '\\x00'::bytea, now())`, [user.user.id]);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const token = linkToken((await mailTo(user.email, SUBJECT.reset))[0], LINK_PATH.reset);
      await post(app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }).expect(204);

      expect((await userRow(app, user.user.id)).mfa_enabled).toBe(true);
      expect(await app.dataSource.query('SELECT user_id FROM mfa_totp WHERE user_id = $1', [user.user.id])).toHaveLength(1);
      const login = await post(app, '/auth/login', { email: user.email, password: NEW_PASSWORD }).expect(403);
      expect(login.body.code).toBe('mfa_required');
    });

    it('reset: 400 reset_token_invalid for an unknown, expired, verification or disabled account\'s token, checked before the password', async () => {
      const user = await register(app);
      const verifyToken = linkToken((await mailTo(user.email, SUBJECT.verify))[0], LINK_PATH.verify);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const [expired] = (await mailTo(user.email, SUBJECT.reset)).map((mail) => linkToken(mail, LINK_PATH.reset));
      await app.dataSource.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'reset_password'`, [
        user.user.id,
      ]);
      for (const token of [expired, verifyToken, 'A'.repeat(43), 'bad']) {
        // A password outside the policy too: the token is what is wrong.
        const response = await post(app, '/auth/password/reset', { token, newPassword: 'x' }).expect(400);
        expect(response.body.code).toBe('reset_token_invalid');
      }

      const disabled = await register(app);
      await post(app, '/auth/password/forgot', { email: disabled.email }).expect(202);
      const token = linkToken((await mailTo(disabled.email, SUBJECT.reset))[0], LINK_PATH.reset);
      await app.dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.user.id]);
      expect((await post(app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }).expect(400)).body.code).toBe('reset_token_invalid');
      expect((await userRow(app, disabled.user.id)).email_verified_at).toBeNull();
      for (const body of [{ token }, { newPassword: NEW_PASSWORD }, { token, newPassword: 5 }]) {
        expect((await post(app, '/auth/password/reset', body).expect(400)).body.code).toBe('validation_failed');
      }
    });

    it('disabling an account (POST /users/:id/disable) spends every link it was mailed', async () => {
      const user = await register(app);
      const verifyToken = linkToken((await mailTo(user.email, SUBJECT.verify))[0], LINK_PATH.verify);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const resetToken = linkToken((await mailTo(user.email, SUBJECT.reset))[0], LINK_PATH.reset);
      const admin = await post(app, '/auth/login', ADMIN).expect(200);
      await authed(app, 'post', `/users/${user.user.id}/disable`, admin.body.accessToken).expect(200);

      const [{ live }]: Array<{ live: number }> = await app.dataSource.query(
        'SELECT count(*)::int AS live FROM email_tokens WHERE user_id = $1 AND used_at IS NULL',
        [user.user.id],
      );
      expect(live).toBe(0);
      // Enabled again, the old links still do nothing: they were spent, not merely refused.
      await authed(app, 'post', `/users/${user.user.id}/enable`, admin.body.accessToken).expect(200);
      expect((await post(app, '/auth/password/reset', { token: resetToken, newPassword: NEW_PASSWORD }).expect(400)).body.code).toBe('reset_token_invalid');
      expect((await post(app, '/auth/email/verify', { token: verifyToken }).expect(400)).body.code).toBe('verification_token_invalid');
    });

    it('reset: of concurrent resets with one link exactly one succeeds', async () => {
      const user = await register(app);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const token = linkToken((await mailTo(user.email, SUBJECT.reset))[0], LINK_PATH.reset);
      const responses = await Promise.all(
        ['first passphrase here', 'second passphrase here', 'third passphrase here'].map((newPassword) => post(app, '/auth/password/reset', { token, newPassword })),
      );
      expect(responses.map((response) => response.status).sort()).toEqual([204, 400, 400]);
      expect((await eventTypes(app, user.user.id)).filter((type) => type === 'user.password_reset')).toHaveLength(1);
    });

    it('loses nothing: a reset requested while the SMTP server is down arrives once it is back', async () => {
      const user = await register(app);
      await mailTo(user.email, SUBJECT.verify);
      await smtp.stop();
      try {
        await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
        await settled(app);
        const deadline = Date.now() + 30_000;
        let row: { status: string; attempts: number; last_error: string | null } | undefined;
        while (Date.now() < deadline) {
          [row] = await app.dataSource.query(`SELECT status, attempts, last_error FROM mail_outbox WHERE "to" = $1 AND template = 'reset_password'`, [user.email]);
          if (row && row.attempts >= 1 && row.last_error !== null) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(row).toMatchObject({ status: 'pending' });
        expect(row!.last_error).not.toBeNull();
      } finally {
        await smtp.restart();
      }
      const [mail] = await mailTo(user.email, SUBJECT.reset);
      await post(app, '/auth/password/reset', { token: linkToken(mail, LINK_PATH.reset), newPassword: NEW_PASSWORD }).expect(204);
    });
  });

  describe('email change', () => {
    it('mails a confirmation to the new address and a notice to the old one; nothing changes until the link is opened', async () => {
      const user = await register(app);
      const newEmail = uniqueEmail('moved');
      const response = await authed(app, 'post', '/users/me/email', user.accessToken)
        .send({ newEmail: `  ${newEmail.toUpperCase()} `, currentPassword: user.password })
        .expect(202);
      expect(response.body).toEqual({ message: expect.any(String) });

      const [confirmation] = await mailTo(newEmail, SUBJECT.confirm);
      const token = linkToken(confirmation, LINK_PATH.confirm);
      expect(String(confirmation.parsed.text)).toContain(newEmail);
      const requested = noticeText((await mailTo(user.email, SUBJECT.changeRequested))[0]);
      expect(requested).toContain(newEmail);
      expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.email).toBe(user.email);
      await post(app, '/auth/login', { email: newEmail, password: user.password }).expect(401);

      const confirmed = await post(app, '/users/me/email/confirm', { token }).expect(200);
      expect(confirmed.body).toMatchObject({ id: user.user.id, email: newEmail, emailVerified: true });
      expect(confirmed.headers['cache-control']).toBe('no-store');
      expect((await authed(app, 'get', '/users/me', user.accessToken).expect(200)).body.email).toBe(newEmail);
      const changed = noticeText((await mailTo(user.email, SUBJECT.emailChanged))[0]);
      expect(changed).toContain(newEmail);

      await post(app, '/auth/login', { email: newEmail, password: user.password }).expect(200);
      await post(app, '/auth/login', { email: user.email, password: user.password }).expect(401);
      expect((await post(app, '/users/me/email/confirm', { token }).expect(400)).body.code).toBe('verification_token_invalid');
      expect(await eventTypes(app, user.user.id)).toEqual(expect.arrayContaining(['user.email_change_requested', 'user.email_changed']));
    });

    it('links sent to the old address stop working once the address changes; a newer request replaces an older one', async () => {
      const user = await register(app);
      const verifyToken = linkToken((await mailTo(user.email, SUBJECT.verify))[0], LINK_PATH.verify);
      await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
      const resetToken = linkToken((await mailTo(user.email, SUBJECT.reset))[0], LINK_PATH.reset);

      const [first, second] = [uniqueEmail('first'), uniqueEmail('second')];
      for (const newEmail of [first, second]) {
        await authed(app, 'post', '/users/me/email', user.accessToken).send({ newEmail, currentPassword: user.password }).expect(202);
      }
      const firstToken = linkToken((await mailTo(first, SUBJECT.confirm))[0], LINK_PATH.confirm);
      const secondToken = linkToken((await mailTo(second, SUBJECT.confirm))[0], LINK_PATH.confirm);
      expect((await post(app, '/users/me/email/confirm', { token: firstToken }).expect(400)).body.code).toBe('verification_token_invalid');
      await post(app, '/users/me/email/confirm', { token: secondToken }).expect(200);

      expect((await post(app, '/auth/email/verify', { token: verifyToken }).expect(400)).body.code).toBe('verification_token_invalid');
      expect((await post(app, '/auth/password/reset', { token: resetToken, newPassword: NEW_PASSWORD }).expect(400)).body.code).toBe('reset_token_invalid');
    });

    it('409 email_taken when the address is taken, at the request or meanwhile (the account keeps its address)', async () => {
      const user = await register(app);
      const other = await register(app);
      const taken = await authed(app, 'post', '/users/me/email', user.accessToken).send({ newEmail: other.email.toUpperCase(), currentPassword: user.password }).expect(409);
      expect(taken.body.code).toBe('email_taken');

      const wanted = uniqueEmail('wanted');
      await authed(app, 'post', '/users/me/email', user.accessToken).send({ newEmail: wanted, currentPassword: user.password }).expect(202);
      const token = linkToken((await mailTo(wanted, SUBJECT.confirm))[0], LINK_PATH.confirm);
      await register(app, wanted);
      expect((await post(app, '/users/me/email/confirm', { token }).expect(409)).body.code).toBe('email_taken');
      expect((await userRow(app, user.user.id)).email).toBe(user.email);
    });

    it('403 for a wrong password, 400 for a malformed or the current address, 401 without a token, 429 past the per-address limit', async () => {
      const user = await register(app);
      const request = (body: object) => authed(app, 'post', '/users/me/email', user.accessToken).send(body);
      expect((await request({ newEmail: uniqueEmail(), currentPassword: 'not my password' }).expect(403)).body.code).toBe('invalid_credentials');
      for (const body of [
        { newEmail: 'nope', currentPassword: user.password },
        { newEmail: user.email.toUpperCase(), currentPassword: user.password },
        { newEmail: uniqueEmail() },
        { newEmail: uniqueEmail(), currentPassword: user.password, extra: true },
      ]) {
        expect((await request(body).expect(400)).body.code, JSON.stringify(body)).toBe('validation_failed');
      }
      await post(app, '/users/me/email', { newEmail: uniqueEmail(), currentPassword: user.password }).expect(401);

      const target = uniqueEmail('popular');
      for (let i = 0; i < 3; i += 1) await request({ newEmail: target, currentPassword: user.password }).expect(202);
      const limited = await request({ newEmail: target, currentPassword: user.password }).expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(await outboxCount(app, target, 'confirm_email_change')).toBe(3);
    });
  });

  it('a password change mails the "password changed" notice in its transaction', async () => {
    const user = await register(app);
    await authed(app, 'post', '/users/me/password', user.accessToken).send({ currentPassword: user.password, newPassword: NEW_PASSWORD }).expect(204);
    const notice = noticeText((await mailTo(user.email, SUBJECT.passwordChanged))[0]);
    expect(notice).toContain('was changed');
  });

  it('serves the three pages and their assets with a strict CSP, no Referer, no caching, outside the API document', async () => {
    const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    const assets = new Set<string>();
    for (const path of Object.values(LINK_PATH)) {
      const response = await request(app.url).get(`${path}?token=${'A'.repeat(43)}`).expect(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['content-security-policy']).toBe(csp);
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['cache-control']).toBe('no-store');
      // No inline script or style, nothing from another origin.
      expect(response.text).not.toMatch(/<script(?![^>]*\bsrc=)|\sstyle=|\son\w+=|https?:\/\//);
      for (const [, asset] of response.text.matchAll(/(?:src|href)="([^"]+)"/g)) assets.add(asset);
    }
    expect(assets.size).toBe(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/email-pages\/[0-9a-f]{12}\.(js|css)$/);
      const response = await request(app.url).get(asset).expect(200);
      expect(response.headers['content-type']).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(response.headers['content-security-policy']).toBe(csp);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      // The script posts to paths of this origin only.
      if (asset.endsWith('.js')) expect(response.text).not.toMatch(/https?:|\/\/[a-z]/i);
    }
    const document = (await request(app.url).get('/docs-json').expect(200)).body as { paths: Record<string, unknown> };
    for (const path of [...Object.values(LINK_PATH), ...assets]) expect(document.paths[path]).toBeUndefined();
  });

  it('keeps the audit chain sound through every flow above', async () => {
    expect(await app.app.get(AuditService).verify()).toMatchObject({ valid: true });
  });
});

describe('with EMAIL_VERIFICATION=required', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ SMTP_URL: smtp.url, EMAIL_VERIFICATION: 'required', AUTH_COOKIES: 'true', ...QUICK_MAIL });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('register answers 201 { user } with no tokens and no cookie; login after a correct password is 403 email_not_verified until the link is opened', async () => {
    const email = uniqueEmail('required');
    const registered = await post(app, '/auth/register', { email, password: GOOD_PASSWORD }).expect(201);
    expect(Object.keys(registered.body)).toEqual(['user']);
    expect(registered.body.user).toMatchObject({ email, emailVerified: false });
    expect(registered.headers['set-cookie']).toBeUndefined();
    const [{ n: sessions }]: Array<{ n: number }> = await app.dataSource.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [registered.body.user.id]);
    expect(sessions).toBe(0);

    const refused = await post(app, '/auth/login', { email, password: GOOD_PASSWORD }).expect(403);
    expect(refused.body).toMatchObject({ statusCode: 403, code: 'email_not_verified' });
    expect(refused.body).not.toHaveProperty('accessToken');
    // Only after a correct password: a wrong one and an unknown address are the usual 401.
    expect((await post(app, '/auth/login', { email, password: 'wrong password here' }).expect(401)).body.code).toBe('invalid_credentials');
    expect((await post(app, '/auth/login', { email: uniqueEmail(), password: GOOD_PASSWORD }).expect(401)).body.code).toBe('invalid_credentials');

    const token = linkToken((await mailTo(email, SUBJECT.verify))[0], LINK_PATH.verify);
    await post(app, '/auth/email/verify', { token }).expect(200);
    const login = await post(app, '/auth/login', { email, password: GOOD_PASSWORD }).expect(200);
    expect(login.body.user.emailVerified).toBe(true);
  });

  it('a reset verifies the address: the account can log in after it', async () => {
    const email = uniqueEmail('required-reset');
    await post(app, '/auth/register', { email, password: GOOD_PASSWORD }).expect(201);
    await post(app, '/auth/password/forgot', { email }).expect(202);
    const token = linkToken((await mailTo(email, SUBJECT.reset))[0], LINK_PATH.reset);
    await post(app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }).expect(204);
    await post(app, '/auth/login', { email, password: NEW_PASSWORD }).expect(200);
  });

  it('resend sends a new link that verifies', async () => {
    const email = uniqueEmail('required-resend');
    await post(app, '/auth/register', { email, password: GOOD_PASSWORD }).expect(201);
    await post(app, '/auth/email/verify/resend', { email }).expect(202);
    const [, second] = await mailTo(email, SUBJECT.verify, 2);
    await post(app, '/auth/email/verify', { token: linkToken(second, LINK_PATH.verify) }).expect(200);
    await post(app, '/auth/login', { email, password: GOOD_PASSWORD }).expect(200);
  });
});

describe('with EMAIL_VERIFICATION=off', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ SMTP_URL: smtp.url, EMAIL_VERIFICATION: 'off', ...QUICK_MAIL });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('register queues no verification mail, and resend sends none', async () => {
    const user = await register(app);
    expect(user.accessToken).toBeDefined();
    expect(await outboxCount(app, user.email)).toBe(0); // it would have been written in register's transaction
    await post(app, '/auth/email/verify/resend', { email: user.email }).expect(202);
    await settled(app);
    expect(await outboxCount(app, user.email)).toBe(0);
    // Resets still work.
    await post(app, '/auth/password/forgot', { email: user.email }).expect(202);
    await mailTo(user.email, SUBJECT.reset);
  });
});

describe('per-IP limits (AUTH_RATE_LIMIT)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ SMTP_URL: smtp.url, AUTH_RATE_LIMIT: '3', ...QUICK_MAIL });
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each(['/auth/password/forgot', '/auth/email/verify/resend'])('%s: 429 with Retry-After past the limit, each route its own budget', async (path) => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await post(app, path, { email: uniqueEmail() })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const limited = await post(app, path, { email: uniqueEmail() }).expect(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('a request answered is never lost', () => {
  it('forgot: the row written before the answer is handled by the next start, when this one stopped first', async () => {
    const database = await createTestDatabase();
    const env = { SMTP_URL: smtp.url, ...QUICK_MAIL };
    let first: TestApp | undefined = await startApp(env, database);
    try {
      const user = await register(first);
      await first.app.get(EmailRequestsWorker).beforeApplicationShutdown(); // as if the process died right after answering
      await post(first, '/auth/password/forgot', { email: user.email }).expect(202);
      await post(first, '/auth/password/forgot', { email: uniqueEmail('nobody') }).expect(202);
      expect(await first.dataSource.query('SELECT count(*)::int AS n FROM email_requests')).toEqual([{ n: 2 }]); // both, alike
      await first.stop();
      first = undefined;

      const second = await startApp(env, database);
      try {
        await second.app.get(EmailRequestsWorker).runOnce();
        expect(await second.dataSource.query('SELECT count(*)::int AS n FROM email_requests')).toEqual([{ n: 0 }]);
        const [mail] = await mailTo(user.email, SUBJECT.reset);
        await post(second, '/auth/password/reset', { token: linkToken(mail, LINK_PATH.reset), newPassword: NEW_PASSWORD }).expect(204);
      } finally {
        await second.stop();
      }
    } finally {
      await first?.stop();
      await database.drop();
    }
  });
});
