import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { noticeOf, type OutgoingMail } from '../src/mail/mail-templates';
import { enqueueMail, mailToken, QUICK_MAIL, waitForRow } from './support/mail';
import { TestSmtpServer } from './support/smtp';
import { createTestDatabase, startApp, TestApp, TestDatabase } from './support/test-app';
import { POSTGRES_SERVER_URL } from './support/database-templates';

/**
 * The outbox's promises that span processes: a message survives a restart of the service,
 * several instances on one database send each message once, and a message that keeps
 * failing is given up after MAIL_GIVE_UP_AFTER, without its token.
 */

const client = { ip: '198.51.100.4', userAgent: 'curl/8.5.0' };
let counter = 0;
const address = (label: string) => `${label}.${process.pid}.${(counter += 1)}@mail.test`;

describe('a restart', () => {
  let smtp: TestSmtpServer;
  let database: TestDatabase;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await smtp?.stop();
    await database?.drop();
  });

  it('loses nothing: mail queued while the SMTP server is down goes out after the service is stopped and started again', async () => {
    await smtp.stop();
    const to = address('restart');
    const first = await startApp({ SMTP_URL: smtp.url, ...QUICK_MAIL }, database);
    let id = '';
    try {
      [id] = await enqueueMail(first, { to, template: 'reset_password', params: { token: mailToken(), expiresAt: '2030-01-01T00:00:00Z' } });
      const failing = await waitForRow(first, id, (row) => row.attempts >= 1 && row.last_error !== null);
      expect(failing.status).toBe('pending');
    } finally {
      await first.stop(); // the database (and the row) stay
    }

    await smtp.restart();
    const second = await startApp({ SMTP_URL: smtp.url, ...QUICK_MAIL }, database);
    try {
      const [mail] = await smtp.waitFor(1, (received) => received.envelope.to.includes(to));
      expect(mail.parsed.text).toContain('/reset-password?token=');
      const sent = await waitForRow(second, id, (row) => row.status === 'sent');
      expect(sent.params).not.toHaveProperty('token');
      expect(smtp.to(to)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});

/**
 * Two instances on one PostgreSQL database (always PostgreSQL: PGlite serves one process).
 * Each names itself in EHLO (`?name=` in SMTP_URL), and the server holds the first
 * instance's messages until the second one has delivered one: so both really send, at the
 * same time, from one outbox, and the test fails if either could not claim its share.
 */
describe('two instances on one database', () => {
  const COUNT = 40;
  let smtp: TestSmtpServer;
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    database = await createTestDatabase({ serverUrl: POSTGRES_SERVER_URL });
    a = await startApp({ SMTP_URL: `${smtp.url}?name=instance-a`, ...QUICK_MAIL }, database);
    b = await startApp({ SMTP_URL: `${smtp.url}?name=instance-b`, ...QUICK_MAIL }, database);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
    await smtp?.stop();
  });

  it('send each message exactly once, both taking part', async () => {
    const fromB = () => smtp.received.some((mail) => mail.clientName === 'instance-b');
    smtp.verdict = async (mail) => {
      const deadline = Date.now() + 20_000;
      while (mail.clientName === 'instance-a' && !fromB() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      return { accept: true };
    };
    const recipients = Array.from({ length: COUNT }, () => address('many'));
    const messages: OutgoingMail[] = recipients.map((to) => ({ to, template: 'email_changed', params: { ...noticeOf(client), newEmail: to } }));
    const ids = await enqueueMail(a, ...messages);

    const received = await smtp.waitFor(COUNT, (mail) => recipients.includes(mail.envelope.to[0]));
    for (const to of recipients) expect(smtp.to(to), to).toHaveLength(1);
    expect(received).toHaveLength(COUNT);
    const senders = new Set(received.map((mail) => mail.clientName));
    expect(senders).toEqual(new Set(['instance-a', 'instance-b']));

    const rows: Array<{ status: string; attempts: number }> = await a.dataSource.query(
      'SELECT status, attempts FROM mail_outbox WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows).toHaveLength(COUNT);
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true); // no message was tried twice
  });
});

describe('a message that keeps failing', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    smtp.verdict = () => ({ code: 550, message: '5.1.1 No such user here' });
    app = await startApp({ SMTP_URL: smtp.url, ...QUICK_MAIL, MAIL_GIVE_UP_AFTER: '2s' });
  });

  afterAll(async () => {
    await app?.close();
    await smtp?.stop();
  });

  it('is retried, then given up after MAIL_GIVE_UP_AFTER: status failed, the reason kept, the token dropped, counted in /metrics', async () => {
    const token = mailToken();
    const [id] = await enqueueMail(app, { to: address('bounce'), template: 'verify_email', params: { token, expiresAt: '2030-01-01T00:00:00Z' } });
    const row = await waitForRow(app, id, (r) => r.status === 'failed');
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    expect(row.sent_at).toBeNull();
    expect(row.last_error).toContain('550 5.1.1 No such user here');
    expect(row.params).not.toHaveProperty('token');
    expect(JSON.stringify(row)).not.toContain(token);
    expect(smtp.refused).toBe(row.attempts);
    expect(smtp.received).toEqual([]);

    const metrics = (await request(app.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^mail_messages_total\{outcome="failed"\} 1$/m);
    expect(metrics).toMatch(/^mail_outbox_pending 0$/m);
  });
});
