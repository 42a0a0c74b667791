import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { appConfig } from '../config/app.config';
import { mailConfig } from './mail.config';

isolateEnv(['SMTP_URL', 'MAIL_FROM', 'MAIL_RETRY_MAX_DELAY', 'MAIL_GIVE_UP_AFTER', 'MAIL_POLL_INTERVAL_MS', 'APP_URL', 'DATA_DIR']);

describe('mailConfig', () => {
  it('defaults: .eml files under DATA_DIR/mail, the documented sender, 5 minutes at most between tries, given up after 3 days, polled every second', () => {
    process.env.DATA_DIR = '/srv/auth-data';
    expect(mailConfig()).toEqual({
      transport: { kind: 'files', directory: join('/srv/auth-data', 'mail') },
      from: 'auth-service <no-reply@localhost>',
      retryMaxDelaySeconds: 300,
      giveUpAfterSeconds: 3 * 86400,
      pollIntervalMs: 1000,
    });
  });

  it('sends over SMTP when SMTP_URL is set: smtp:// (STARTTLS when offered), smtps://, with credentials and nodemailer options', () => {
    for (const url of ['smtp://mailer:p%40ss@smtp.example.com:587', 'smtps://mailer:secret@smtp.example.com:465', 'smtp://127.0.0.1:2525?tls.rejectUnauthorized=false']) {
      process.env.SMTP_URL = url;
      expect(mailConfig().transport).toEqual({ kind: 'smtp', url });
    }
  });

  it('refuses to start in production without SMTP_URL, naming it', () => {
    process.env.NODE_ENV = 'production';
    expect(configErrorOf(() => mailConfig()).message).toMatch(/^Invalid configuration: SMTP_URL is required with NODE_ENV=production/);
    process.env.SMTP_URL = 'smtps://mailer:secret@smtp.example.com';
    expect(mailConfig().transport.kind).toBe('smtp');
  });

  it.each(['http://mailer:hunter2@smtp.example.com', 'smtp://mailer:hunter2@', 'mailer:hunter2@smtp.example.com', 'smtp.example.com:587'])(
    'refuses the SMTP_URL %j without echoing it (it may hold a password)',
    (url) => {
      process.env.SMTP_URL = url;
      const error = configErrorOf(() => mailConfig());
      expect(error.message).toMatch(/^Invalid configuration: SMTP_URL /);
      expect(error.message).not.toContain('hunter2');
    },
  );

  it('takes MAIL_FROM as one address, with or without a display name', () => {
    for (const from of ['no-reply@example.com', 'Example Accounts <accounts@example.com>', '"Example, Inc." <accounts@example.com>']) {
      process.env.MAIL_FROM = from;
      expect(mailConfig().from).toBe(from);
    }
  });

  it.each(['not an address', 'a@example.com, b@example.com', 'Team: a@example.com;', 'x <y>'])('refuses the MAIL_FROM %j', (from) => {
    process.env.MAIL_FROM = from;
    expect(configErrorOf(() => mailConfig()).message).toMatch(/^Invalid configuration: MAIL_FROM /);
  });

  it('reads MAIL_RETRY_MAX_DELAY and MAIL_GIVE_UP_AFTER as durations, and refuses malformed ones by name', () => {
    process.env.MAIL_RETRY_MAX_DELAY = '30s';
    process.env.MAIL_GIVE_UP_AFTER = '12h';
    expect(mailConfig()).toMatchObject({ retryMaxDelaySeconds: 30, giveUpAfterSeconds: 43200 });
    process.env.MAIL_RETRY_MAX_DELAY = '5 minutes';
    expect(configErrorOf(() => mailConfig()).message).toContain('MAIL_RETRY_MAX_DELAY');
    process.env.MAIL_RETRY_MAX_DELAY = '5m';
    process.env.MAIL_GIVE_UP_AFTER = '0';
    expect(configErrorOf(() => mailConfig()).message).toContain('MAIL_GIVE_UP_AFTER');
  });

  it('bounds MAIL_POLL_INTERVAL_MS', () => {
    process.env.MAIL_POLL_INTERVAL_MS = '50';
    expect(mailConfig().pollIntervalMs).toBe(50);
    process.env.MAIL_POLL_INTERVAL_MS = '5';
    expect(configErrorOf(() => mailConfig()).message).toContain('MAIL_POLL_INTERVAL_MS');
  });
});

describe('APP_URL (appConfig: links in mail are built from it)', () => {
  it('defaults to http://localhost:3000', () => {
    expect(appConfig().appUrl).toBe('http://localhost:3000');
  });

  it.each([
    ['https://app.example.com', 'https://app.example.com'],
    ['https://app.example.com/', 'https://app.example.com'],
    ['https://example.com/accounts/', 'https://example.com/accounts'],
    ['HTTP://LOCALHOST:8080', 'http://localhost:8080'],
  ])('takes %j as %j', (value, expected) => {
    process.env.APP_URL = value;
    expect(appConfig().appUrl).toBe(expected);
  });

  it.each(['ftp://example.com', 'example.com', 'https://user:secret@example.com', 'https://example.com/?next=1', 'https://example.com/#top', 'javascript:alert(1)'])(
    'refuses %j, naming APP_URL',
    (value) => {
      process.env.APP_URL = value;
      expect(configErrorOf(() => appConfig()).message).toMatch(/^Invalid configuration: APP_URL /);
    },
  );
});
