import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MailService } from '../src/mail/mail.service';
import { noticeOf, type OutgoingMail } from '../src/mail/mail-templates';
import { enqueueMail, mailToken, outboxRow, QUICK_MAIL, waitForRow } from './support/mail';
import { TestSmtpServer, type ReceivedMail } from './support/smtp';
import { createTestDatabase, startApp, TestApp } from './support/test-app';

/**
 * The outbox against a real SMTP server (smtp-server, on a port of 127.0.0.1): every
 * template as received and parsed, the token gone from the row once sent, retries while
 * the server is down or answers 4xx, STARTTLS.
 */

const FROM = 'Acme Accounts <accounts@acme.test>';
const APP_URL = 'https://app.acme.test/portal';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const client = { ip: '203.0.113.7', userAgent: FIREFOX };

let counter = 0;
const address = (label: string) => `${label}.${process.pid}.${(counter += 1)}@mail.test`;

function parts(mail: ReceivedMail): { text: string; html: string } {
  expect(typeof mail.parsed.text, 'a text part').toBe('string');
  expect(typeof mail.parsed.html, 'an HTML part').toBe('string');
  return { text: mail.parsed.text as string, html: mail.parsed.html as string };
}

const metric = (exposition: string, line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(exposition)?.[1]);

describe('over SMTP', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    app = await startApp({ SMTP_URL: smtp.url, MAIL_FROM: FROM, APP_URL: `${APP_URL}/`, ...QUICK_MAIL });
  });

  afterAll(async () => {
    await app?.close();
    await smtp?.stop();
  });

  it('sends every template with a text and an HTML part from MAIL_FROM, token links on APP_URL, HTML-escaped parameters, and forgets the token once sent', async () => {
    const to = address('all');
    const tokens = { verify: mailToken(), reset: mailToken(), change: mailToken() };
    const expiresAt = '2031-05-06T07:08:09.000Z';
    const displayName = '<b>Ada</b> & "Co"';
    const notice = { ...noticeOf(client, new Date('2030-01-02T03:04:05Z')), displayName };
    const messages: OutgoingMail[] = [
      { to, template: 'verify_email', params: { token: tokens.verify, expiresAt, displayName } },
      { to, template: 'reset_password', params: { token: tokens.reset, expiresAt, displayName } },
      { to, template: 'confirm_email_change', params: { token: tokens.change, expiresAt, newEmail: 'new@acme.test', displayName } },
      { to, template: 'password_changed', params: notice },
      { to, template: 'password_reset', params: notice },
      { to, template: 'email_change_requested', params: { ...notice, newEmail: 'new@acme.test' } },
      { to, template: 'email_changed', params: { ...notice, newEmail: 'new@acme.test' } },
      { to, template: 'mfa_enabled', params: notice },
      { to, template: 'mfa_disabled', params: notice },
      { to, template: 'passkey_added', params: { ...notice, passkeyName: 'YubiKey <5>' } },
    ];
    const ids = await enqueueMail(app, ...messages);

    const received = await smtp.waitFor(messages.length, (mail) => mail.envelope.to.includes(to));
    expect(received).toHaveLength(messages.length); // each once
    const bySubject = new Map(received.map((mail) => [mail.parsed.subject, mail]));
    expect(bySubject.size).toBe(messages.length); // one subject per template

    for (const mail of received) {
      expect(mail.parsed.from?.value).toEqual([{ name: 'Acme Accounts', address: 'accounts@acme.test' }]);
      expect(mail.envelope.from).toBe('accounts@acme.test');
      const { text, html } = parts(mail);
      // Self-contained: no image, stylesheet, script or remote font.
      expect(html).not.toMatch(/<img|<link|<script|\bsrc=|url\(/i);
      expect(html).toContain('&lt;b&gt;Ada&lt;/b&gt; &amp; &quot;Co&quot;');
      expect(html).not.toContain('<b>Ada</b>');
      expect(text).toContain('Hello <b>Ada</b> & "Co",');
      expect(String(mail.parsed.headers.get('auto-submitted'))).toBe('auto-generated');
    }

    const links: Array<[string, string, string]> = [
      ['Verify your email address', '/verify-email', tokens.verify],
      ['Reset your password', '/reset-password', tokens.reset],
      ['Confirm your new email address', '/confirm-email-change', tokens.change],
    ];
    for (const [subject, path, token] of links) {
      const { text, html } = parts(bySubject.get(subject)!);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const link = `${APP_URL}${path}?token=${token}`;
      expect(text).toContain(link);
      expect(html).toContain(`href="${link}"`);
      expect(text).toContain('2031-05-06 07:08 UTC');
    }
    expect(parts(bySubject.get('Confirm your new email address')!).text).toContain('new@acme.test');

    const notices = received.filter((mail) => !links.some(([subject]) => subject === mail.parsed.subject));
    expect(notices).toHaveLength(7);
    for (const mail of notices) {
      const { text, html } = parts(mail);
      expect(text).not.toContain('token=');
      expect(html).not.toContain('token=');
      for (const body of [text, html]) {
        expect(body).toContain('2030-01-02 03:04 UTC'); // when
        expect(body).toContain('203.0.113.7'); // from which IP
        expect(body).toContain('Firefox on Linux'); // and browser
        expect(body).toMatch(/If this was not you/); // what to do
      }
    }
    expect(parts(bySubject.get('A passkey was added to your account')!).html).toContain('YubiKey &lt;5&gt;');

    // Sent, and no column of any of these rows holds a token any more.
    for (const id of ids) {
      const row = await waitForRow(app, id, (r) => r.status === 'sent');
      expect(row.sent_at).not.toBeNull();
      expect(row.attempts).toBe(1);
      expect(row.params).not.toHaveProperty('token');
    }
    for (const token of Object.values(tokens)) {
      const [{ count }] = await app.dataSource.query(`SELECT count(*)::int AS count FROM mail_outbox WHERE row_to_json(mail_outbox)::text LIKE $1`, [
        `%${token}%`,
      ]);
      expect(count).toBe(0);
    }
  });

  it('never sends a message queued in a transaction that rolled back', async () => {
    const lost = address('rolled-back');
    const kept = address('committed');
    const mail = app.app.get(MailService);
    const aborted = app.dataSource.transaction(async (manager) => {
      await mail.enqueue({ to: lost, template: 'mfa_enabled', params: noticeOf(client) }, manager);
      throw new Error('the action failed');
    });
    await expect(aborted).rejects.toThrow('the action failed');
    // A message committed after it goes through, which takes a round of the worker at least.
    await enqueueMail(app, { to: kept, template: 'mfa_enabled', params: noticeOf(client) });
    await smtp.waitFor(1, (received) => received.envelope.to.includes(kept));

    const rows = await app.dataSource.query(`SELECT id FROM mail_outbox WHERE "to" = $1`, [lost]);
    expect(rows).toEqual([]);
    expect(smtp.to(lost)).toEqual([]);
  });

  it('refuses parameters that do not fit the template, and a recipient that is not one address, in the caller\'s transaction', async () => {
    const mail = app.app.get(MailService);
    const to = address('bad');
    const attempt = (message: unknown) => app.dataSource.transaction((manager) => mail.enqueue(message as OutgoingMail, manager));
    await expect(attempt({ to, template: 'verify_email', params: { token: 'not base64url!', expiresAt: '2030-01-01T00:00:00Z' } })).rejects.toThrow(
      /token must be base64url/,
    );
    await expect(attempt({ to, template: 'reset_password', params: { expiresAt: '2030-01-01T00:00:00Z' } })).rejects.toThrow(/token/);
    await expect(attempt({ to, template: 'no_such_template', params: {} })).rejects.toThrow(/not a template/);
    for (const wrong of ['not an address', 'a@b.test, c@d.test', `${'x'.repeat(320)}@mail.test`]) {
      await expect(attempt({ to: wrong, template: 'mfa_enabled', params: noticeOf(client) })).rejects.toThrow(/not one email address/);
    }
    expect(await app.dataSource.query(`SELECT id FROM mail_outbox WHERE "to" = $1`, [to])).toEqual([]);
  });

  it('retries while the SMTP server is down (growing attempts, the reason kept, pending in /metrics) and delivers once it is back on the same port', async () => {
    const to = address('outage');
    await smtp.stop();
    const [id] = await enqueueMail(app, { to, template: 'verify_email', params: { token: mailToken(), expiresAt: '2030-01-01T00:00:00Z' } });

    const failing = await waitForRow(app, id, (row) => row.attempts >= 3);
    expect(failing.status).toBe('pending');
    expect(failing.sent_at).toBeNull();
    expect(failing.last_error).toMatch(/ECONNREFUSED/);
    expect(failing.params).toHaveProperty('token'); // still needed for the next try
    expect(smtp.to(to)).toEqual([]);

    const during = (await request(app.url).get('/metrics').expect(200)).text;
    expect(metric(during, 'mail_outbox_pending')).toBeGreaterThanOrEqual(1);
    expect(metric(during, 'mail_outbox_oldest_pending_age_seconds')).toBeGreaterThan(0);
    expect(metric(during, 'mail_messages_total{outcome="retry"}')).toBeGreaterThanOrEqual(2);

    await smtp.restart();
    const [mail] = await smtp.waitFor(1, (received) => received.envelope.to.includes(to));
    expect(parts(mail).text).toContain(`${APP_URL}/verify-email?token=`);
    const sent = await waitForRow(app, id, (row) => row.status === 'sent');
    expect(sent.attempts).toBeGreaterThan(failing.attempts);
    expect(sent.params).not.toHaveProperty('token');

    const after = (await request(app.url).get('/metrics').expect(200)).text;
    expect(metric(after, 'mail_outbox_pending')).toBe(0);
    expect(metric(after, 'mail_outbox_oldest_pending_age_seconds')).toBe(0);
    expect(metric(after, 'mail_messages_total{outcome="sent"}')).toBeGreaterThanOrEqual(1);
  });

  it('retries a message the server answers with 4xx, and delivers it once the server accepts', async () => {
    const to = address('greylisted');
    let refusals = 0;
    smtp.verdict = (mail) => {
      if (!mail.envelope.to.includes(to) || refusals >= 2) return { accept: true };
      refusals += 1;
      return { code: 451, message: '4.7.1 Greylisted, try again later' };
    };
    try {
      const [id] = await enqueueMail(app, { to, template: 'password_changed', params: noticeOf(client) });
      await smtp.waitFor(1, (mail) => mail.envelope.to.includes(to));
      const row = await waitForRow(app, id, (r) => r.status === 'sent');
      expect(refusals).toBe(2);
      expect(row.attempts).toBe(3);
      expect(row.last_error).toContain('451 4.7.1 Greylisted, try again later');
      expect(smtp.to(to)).toHaveLength(1);
    } finally {
      smtp.verdict = () => ({ accept: true });
    }
  });

  it('drops the pending mail of an address or a user, and keeps what was sent', async () => {
    const to = address('deleted');
    const userId = '0b5f8a2e-9c51-4a43-9d0e-7b3c1d2e4f50';
    const sentId = (await enqueueMail(app, { to, template: 'mfa_enabled', params: noticeOf(client) }))[0];
    await waitForRow(app, sentId, (row) => row.status === 'sent');

    smtp.verdict = (mail) => (mail.envelope.to.includes(to) || mail.envelope.to.includes('other@mail.test') ? { code: 450, message: 'Mailbox busy' } : { accept: true });
    try {
      const [byAddress, byUser] = await enqueueMail(
        app,
        { to: to.toUpperCase(), template: 'mfa_disabled', params: noticeOf(client) },
        { to: 'other@mail.test', template: 'confirm_email_change', params: { token: mailToken(), expiresAt: '2030-01-01T00:00:00Z', newEmail: 'other@mail.test' }, userId },
      );
      await waitForRow(app, byAddress, (row) => row.attempts >= 1 && row.last_error !== null);
      const mail = app.app.get(MailService);
      expect(await app.dataSource.transaction((manager) => mail.deletePendingTo(to, manager))).toBe(1);
      expect(await app.dataSource.transaction((manager) => mail.deletePendingForUser(userId, manager))).toBe(1);
      expect(await outboxRow(app, byAddress)).toBeUndefined();
      expect(await outboxRow(app, byUser)).toBeUndefined();
      expect((await outboxRow(app, sentId))?.status).toBe('sent');
    } finally {
      smtp.verdict = () => ({ accept: true });
    }
  });
});

describe('STARTTLS offered by the server', () => {
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start({ starttls: true });
  });

  afterAll(async () => {
    await smtp?.stop();
  });

  it('is used, and the certificate is verified: a self-signed one fails the tries until SMTP_URL says to accept it', async () => {
    const to = address('tls');
    // Verified by default: smtp-server's built-in certificate (self-signed, and expired by now) fails each try.
    const database = await createTestDatabase();
    const strict = await startApp({ SMTP_URL: smtp.url, ...QUICK_MAIL }, database);
    let id = '';
    try {
      [id] = await enqueueMail(strict, { to, template: 'password_reset', params: noticeOf(client) });
      const row = await waitForRow(strict, id, (r) => r.attempts >= 2);
      expect(row.status).toBe('pending');
      expect(row.last_error).toMatch(/CERT|ETLS/);
      expect(smtp.to(to)).toEqual([]);
    } finally {
      await strict.stop();
    }

    // The same outbox, with the operator's explicit choice to accept that certificate.
    const relaxed = await startApp({ SMTP_URL: `${smtp.url}?tls.rejectUnauthorized=false`, ...QUICK_MAIL }, database);
    try {
      const [mail] = await smtp.waitFor(1, (received) => received.envelope.to.includes(to));
      expect(mail.secure).toBe(true); // upgraded with STARTTLS before the message
      expect((await waitForRow(relaxed, id, (r) => r.status === 'sent')).attempts).toBeGreaterThanOrEqual(3);
    } finally {
      await relaxed.close();
    }
  });
});
