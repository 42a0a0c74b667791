import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import type { MailTransportConfig } from './mail.config';
import type { RenderedMail } from './mail-templates';

/** One message ready to go out. */
export interface Envelope {
  /** The outbox row's id: also the Message-ID's left part, so that a message sent twice (see DESIGN.md) is recognisably one. */
  id: string;
  from: string;
  to: string;
  template: string;
  content: RenderedMail;
}

export interface MailTransport {
  /** Sends (or writes) the message; resolves when it is accepted, rejects with the server's reason. Returns where it went. */
  send(envelope: Envelope, signal: AbortSignal): Promise<{ file?: string }>;
  close(): void;
}

export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');

/** Bounds on one SMTP conversation: a stuck server fails the try (and it is retried) instead of holding the worker. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };

export function createMailTransport(config: MailTransportConfig): MailTransport {
  return config.kind === 'smtp' ? new SmtpTransport(config.url) : new FileTransport(config.directory);
}

function messageOf(envelope: Envelope): SendMailOptions {
  const domain = addressparser(envelope.from)[0]?.address?.split('@')[1] || 'localhost';
  return {
    from: envelope.from,
    to: envelope.to,
    subject: envelope.content.subject,
    text: envelope.content.text,
    html: envelope.content.html,
    messageId: `<${envelope.id}@${domain}>`,
    // RFC 3834: no vacation auto-replies to a machine's message.
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}

/**
 * SMTP through nodemailer: smtp:// upgrades with STARTTLS when the server offers it (and
 * verifies its certificate), smtps:// is TLS from the start. One connection per message:
 * no pooled connection outlives a send, so nothing is held open between sends or at shutdown.
 */
class SmtpTransport implements MailTransport {
  private readonly transporter;

  constructor(url: string) {
    // The URL's own settings (host, credentials, ?tls.rejectUnauthorized=false …) win over these defaults.
    this.transporter = nodemailer.createTransport({ ...SMTP_TIMEOUTS, url, logger: false });
  }

  async send(envelope: Envelope, signal: AbortSignal): Promise<{ file?: string }> {
    await this.transporter.sendMail({ ...messageOf(envelope), signal });
    return {};
  }

  close(): void {
    this.transporter.close();
  }
}

/**
 * Development without SMTP_URL: each message becomes an .eml file (open it with any mail
 * client) under DATA_DIR/mail, readable by the owner only, as it holds live links.
 */
class FileTransport implements MailTransport {
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true });

  constructor(private readonly directory: string) {}

  async send(envelope: Envelope): Promise<{ file?: string }> {
    const info = await this.composer.sendMail(messageOf(envelope));
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const file = join(this.directory, `${stamp}-${envelope.template}-${envelope.id}.eml`);
    await writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' });
    return { file };
  }

  close(): void {
    this.composer.close();
  }
}

/**
 * What is kept of a failure in the row and the log: nodemailer's error code, the network
 * cause, and the SMTP server's reply (code and text), never the message or its token.
 */
export function describeSendError(error: unknown): string {
  const details = error as { code?: unknown; originalCode?: unknown; responseCode?: unknown; response?: unknown; name?: unknown };
  const parts: string[] = [];
  for (const part of [details.code, details.originalCode]) if (typeof part === 'string' && !parts.includes(part)) parts.push(part);
  if (typeof details.responseCode === 'number' && typeof details.response === 'string') parts.push(details.response);
  else if (typeof details.responseCode === 'number') parts.push(String(details.responseCode));
  if (parts.length === 0) parts.push(typeof details.name === 'string' ? details.name : 'Error');
  return parts.join(' ').replace(/[\r\n]+/g, ' ').slice(0, 500);
}
