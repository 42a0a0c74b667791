import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import addressparser from 'nodemailer/lib/addressparser';
import { ConfigError, env } from '../config/env';

/** Where messages go: an SMTP server, or (outside production, without SMTP_URL) `.eml` files. */
export type MailTransportConfig = { kind: 'smtp'; url: string } | { kind: 'files'; directory: string };

export const mailConfig = registerAs('mail', () => {
  const smtpUrl = parseSmtpUrl(env.optional('SMTP_URL'));
  if (smtpUrl === undefined && env.isProduction()) {
    throw new ConfigError('SMTP_URL', 'is required with NODE_ENV=production (smtp://user:pass@host:587, or smtps://user:pass@host:465)');
  }
  const transport: MailTransportConfig = smtpUrl ? { kind: 'smtp', url: smtpUrl } : { kind: 'files', directory: join(env.dataDir(), 'mail') };
  return {
    transport,
    /** The From header of every message, as given (`Name <address>`). */
    from: parseFrom(env.string('MAIL_FROM', 'auth-service <no-reply@localhost>')),
    /** The longest wait between two tries of one message. */
    retryMaxDelaySeconds: env.durationSeconds('MAIL_RETRY_MAX_DELAY', '5m'),
    /** A message still not sent this long after it was queued is given up (status `failed`). */
    giveUpAfterSeconds: env.durationSeconds('MAIL_GIVE_UP_AFTER', '3d'),
    /** How often the worker looks for due messages (it goes on at once while it finds full batches). */
    pollIntervalMs: env.int('MAIL_POLL_INTERVAL_MS', 1000, { min: 10, max: 60_000 }),
  };
});

export type MailConfig = ReturnType<typeof mailConfig>;

/**
 * smtp:// (STARTTLS when the server offers it) or smtps:// (TLS from the start), with a host.
 * Nodemailer reads the rest, query options included (`?tls.rejectUnauthorized=false`,
 * `?requireTLS=true`). Never echoed: it holds the SMTP password.
 */
function parseSmtpUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    throw new ConfigError('SMTP_URL', 'must be an smtp:// or smtps:// URL with a host, such as smtp://user:pass@smtp.example.com:587');
  }
  return value;
}

/** One mailbox, `address` or `Name <address>`. */
function parseFrom(value: string): string {
  const parsed = /[\r\n]/.test(value) ? [] : addressparser(value);
  const mailbox = parsed.length === 1 ? parsed[0] : undefined;
  if (!mailbox || mailbox.group !== undefined || !/^[^\s@]+@[^\s@]+$/.test(mailbox.address)) {
    throw new ConfigError('MAIL_FROM', `must be one address such as "auth-service <no-reply@example.com>", got "${value}"`);
  }
  return value;
}
