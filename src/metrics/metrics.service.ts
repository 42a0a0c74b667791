import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'locked_out';
export type RefreshOutcome = 'success' | 'invalid' | 'reused';
/** `ip`: the per-client-IP limit of register and login; `account`: the per-account login back-off. */
export type RateLimiter = 'ip' | 'account';
/** `sent`: accepted by the server (or written as a file); `retry`: a try failed and will be retried; `failed`: given up. */
export type MailOutcome = 'sent' | 'retry' | 'failed';
/** The outbox as the database has it, read at each scrape. */
export interface MailOutboxState {
  pending: number;
  oldestPendingAgeSeconds: number;
}

/**
 * The service's Prometheus metrics, in a registry of this app's own (not prom-client's
 * global one), served at /metrics. Feature modules record their events through here.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route template (unmatched for 404s), method and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly logins = new Counter({
    name: 'auth_logins_total',
    help: 'Login attempts that reached the credential check, by outcome (per-IP rejections are in auth_rate_limit_rejections_total)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly refreshes = new Counter({
    name: 'auth_refreshes_total',
    help: 'Refresh-token rotations, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly reuseDetections = new Counter({
    name: 'auth_refresh_token_reuse_detections_total',
    help: 'Spent refresh tokens presented again; each revoked its whole session',
    registers: [this.registry],
  });

  private readonly rateLimitRejections = new Counter({
    name: 'auth_rate_limit_rejections_total',
    help: 'Requests answered 429, by limiter and route',
    labelNames: ['limiter', 'route'] as const,
    registers: [this.registry],
  });

  private readonly mailMessages = new Counter({
    name: 'mail_messages_total',
    help: 'Outbox messages handled by this instance, by outcome: sent, retry (a failed try, retried later), failed (given up)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private mailOutboxReader?: () => Promise<MailOutboxState>;
  /** One read per scrape for both gauges: prom-client collects every metric at the same time. */
  private mailOutboxRead?: Promise<MailOutboxState | undefined>;

  private readonly mailPending = new Gauge({
    name: 'mail_outbox_pending',
    help: 'Messages of the outbox not yet sent nor given up (all instances: read from the database at scrape)',
    registers: [this.registry],
    collect: async () => {
      const state = await this.readMailOutbox();
      if (state) this.mailPending.set(state.pending);
    },
  });

  private readonly mailOldestPendingAge = new Gauge({
    name: 'mail_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest message of the outbox not yet sent nor given up; 0 when there is none',
    registers: [this.registry],
    collect: async () => {
      const state = await this.readMailOutbox();
      if (state) this.mailOldestPendingAge.set(state.oldestPendingAgeSeconds);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every outcome is exported from the start, at 0, so that rate() works before the first event.
    for (const outcome of ['success', 'invalid_credentials', 'locked_out'] satisfies LoginOutcome[]) this.logins.inc({ outcome }, 0);
    for (const outcome of ['success', 'invalid', 'reused'] satisfies RefreshOutcome[]) this.refreshes.inc({ outcome }, 0);
    for (const outcome of ['sent', 'retry', 'failed'] satisfies MailOutcome[]) this.mailMessages.inc({ outcome }, 0);
  }

  login(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
    if (outcome === 'locked_out') this.rateLimitRejections.inc({ limiter: 'account', route: '/auth/login' });
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
    if (outcome === 'reused') this.reuseDetections.inc();
  }

  rateLimited(limiter: RateLimiter, route: string): void {
    this.rateLimitRejections.inc({ limiter, route });
  }

  mail(outcome: MailOutcome): void {
    this.mailMessages.inc({ outcome });
  }

  /** The mail module hands over how to read the outbox's gauges (metrics stays below the features). */
  readMailOutboxWith(reader: () => Promise<MailOutboxState>): void {
    this.mailOutboxReader = reader;
  }

  /** A failed read (the database down) keeps the last values: the scrape itself still answers. */
  private readMailOutbox(): Promise<MailOutboxState | undefined> {
    const reader = this.mailOutboxReader;
    if (!reader) return Promise.resolve(undefined);
    this.mailOutboxRead ??= reader()
      .catch(() => undefined) // the outbox's worker logs database failures
      .finally(() => (this.mailOutboxRead = undefined));
    return this.mailOutboxRead;
  }

  /** Times every response. Added before the routes are, so that Fastify runs it for all of them. */
  recordRequests(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.requestDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
