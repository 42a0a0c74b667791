import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/** The one channel revocations travel on between instances sharing a PostgreSQL database. */
export const REVOCATION_CHANNEL = 'auth_revocations';

/** The listening session's application_name: the process id tells the instances apart. */
export function listenerApplicationName(pid = process.pid): string {
  return `auth-service revocations pid ${pid}`;
}

/**
 * A dedicated session that LISTENs for revocations (PostgreSQL LISTEN/NOTIFY).
 *
 * It needs a session of its own: behind PgBouncer in transaction mode LISTEN does not
 * work, hence its own URL (DATABASE_LISTEN_URL). When the connection drops it reconnects
 * with a growing delay, LISTENs again and only then calls `onConnected`, which reloads
 * what was revoked meanwhile: listening before reloading leaves no gap, and a message
 * that arrives twice is harmless.
 */
export class RevocationListener {
  private readonly logger = new Logger('Revocation');
  private client: Client | undefined;
  private stopped = false;
  private retryDelayMs = 250;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedOnce = false;

  constructor(
    private readonly url: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onConnected: () => Promise<void>,
  ) {}

  /** Resolves once listening (or after the first failure: the retries go on in the background). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    // Named, so that an operator (or a test) can tell each instance's listening session in pg_stat_activity.
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 3000, keepAlive: true, application_name: listenerApplicationName() });
    client.on('notification', (message) => {
      if (message.channel === REVOCATION_CHANNEL && message.payload) this.onMessage(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      this.client = client;
      await this.onConnected();
      this.retryDelayMs = 250;
      if (this.connectedOnce) this.logger.log({ event: 'revocation_channel_reconnected', msg: 'Revocation channel is back; caught up' });
      this.connectedOnce = true;
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  private lost(client: Client, error: Error): void {
    if (this.stopped || (this.client !== undefined && this.client !== client)) return;
    if (this.retryTimer !== undefined && this.client === undefined) return; // a retry is already scheduled
    this.client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.logger.warn({
      event: 'revocation_channel_down',
      retryInMs: this.retryDelayMs,
      msg: `Revocation channel lost (${error.message}); serving from memory, reconnecting`,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
  }
}
