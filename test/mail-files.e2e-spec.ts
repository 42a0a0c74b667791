import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail, mailToken, QUICK_MAIL, waitForRow } from './support/mail';
import { CapturedLogs, startApp, TestApp } from './support/test-app';

/** Without SMTP_URL outside production (`npm start` on a laptop): each message is an .eml file under DATA_DIR/mail. */
describe('without SMTP_URL', () => {
  let app: TestApp;
  const logs = new CapturedLogs();

  beforeAll(async () => {
    app = await startApp({ ...QUICK_MAIL }, undefined, logs);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('writes each message as an .eml file (owner-only) that a mail reader parses, and logs the file name, never the token', async () => {
    const token = mailToken();
    const to = `files.${process.pid}@mail.test`;
    const [id] = await enqueueMail(app, { to, template: 'verify_email', params: { token, expiresAt: '2030-01-01T00:00:00Z', displayName: 'Ada' } });
    const row = await waitForRow(app, id, (r) => r.status === 'sent');
    expect(row.params).not.toHaveProperty('token');

    const directory = join(app.dataDir, 'mail');
    const files = readdirSync(directory).filter((name) => name.endsWith('.eml'));
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(id);
    const file = join(directory, files[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const parsed = await simpleParser(readFileSync(file));
    expect(parsed.from?.value).toEqual([{ name: 'auth-service', address: 'no-reply@localhost' }]); // the default MAIL_FROM
    expect(parsed.subject).toBe('Verify your email address');
    const link = `http://localhost:3000/verify-email?token=${token}`; // the default APP_URL
    expect(parsed.text).toContain(link);
    expect(parsed.html).toContain(`href="${link}"`);
    expect(parsed.text).toContain('Hello Ada,');

    const written = logs.entries().filter((entry) => entry.event === 'mail_written');
    expect(written).toEqual([expect.objectContaining({ id, template: 'verify_email', file })]);
    expect(logs.lines.some((line) => line.includes(token))).toBe(false);
    expect(logs.lines.some((line) => line.includes('Hello Ada'))).toBe(false); // nor the body
  });
});
