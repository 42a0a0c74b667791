import { randomBytes } from 'node:crypto';
import { MailService } from '../../src/mail/mail.service';
import type { OutgoingMail } from '../../src/mail/mail-templates';
import type { TestApp } from './test-app';

/** A token as the flows make them: 256 random bits, base64url. */
export function mailToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Queues these messages through the app's MailService in one committed transaction; returns their outbox ids. */
export async function enqueueMail(app: TestApp, ...messages: OutgoingMail[]): Promise<string[]> {
  const mail = app.app.get(MailService);
  return app.dataSource.transaction(async (manager) => {
    const ids: string[] = [];
    for (const message of messages) ids.push(await mail.enqueue(message, manager));
    return ids;
  });
}

export interface OutboxRow {
  id: string;
  to: string;
  template: string;
  params: Record<string, unknown>;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

export async function outboxRow(app: TestApp, id: string): Promise<OutboxRow | undefined> {
  const rows: OutboxRow[] = await app.dataSource.query('SELECT * FROM mail_outbox WHERE id = $1', [id]);
  return rows[0];
}

/** Polls the row until `done` holds; fails after `timeoutMs` showing the row as it last was. */
export async function waitForRow(app: TestApp, id: string, done: (row: OutboxRow) => boolean, timeoutMs = 30_000): Promise<OutboxRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await outboxRow(app, id);
    if (row && done(row)) return row;
    if (Date.now() > deadline) throw new Error(`outbox row ${id} never reached the expected state: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Settings that make the worker quick to observe: it polls every 50 ms and retries within a second. */
export const QUICK_MAIL = { MAIL_POLL_INTERVAL_MS: '50', MAIL_RETRY_MAX_DELAY: '1s' };
