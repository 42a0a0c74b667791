/**
 * How long a revocation message takes from one connection to another on this machine:
 * PostgreSQL NOTIFY → LISTEN (alone, and as the service sends it: pg_notify inside the
 * revoking transaction, timed from its COMMIT) against Redis PUBLISH → SUBSCRIBE. One
 * message in flight at a time, so each figure is a latency, not a throughput; the kinds
 * take turns in rounds, so that a machine that slows down within the run favours none.
 *
 *   tsc -p tsconfig.bench.json && node dist-bench/bench/channel-latency.js [messages]
 *
 * (DATABASE_URL and REDIS_URL name the servers; by default the local ones.) `npm run bench`
 * runs it too. See docs/BENCHMARKS.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client, Notification } from 'pg';

const CHANNEL = `bench_revocations_${randomBytes(4).toString('hex')}`;
const ROUNDS = 4;

export interface Latency {
  messages: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ChannelLatency {
  /** SELECT pg_notify(…) on its own (a transaction of its own). */
  postgresNotify: Latency;
  /** BEGIN; SELECT pg_notify(…); COMMIT: timed from the COMMIT, as the service sends a revocation. */
  postgresNotifyInTransaction: Latency;
  redisPublish: Latency;
  payloadBytes: number;
}

type Kind = 'postgresNotify' | 'postgresNotifyInTransaction' | 'redisPublish';

export async function channelLatency(postgresUrl: string, redisUrl: string, messages = 1000): Promise<ChannelLatency> {
  const listener = new Client({ connectionString: postgresUrl });
  const notifier = new Client({ connectionString: postgresUrl });
  const subscriber = new Redis(redisUrl, { lazyConnect: true });
  const publisher = new Redis(redisUrl, { lazyConnect: true });
  await Promise.all([listener.connect(), notifier.connect(), subscriber.connect(), publisher.connect()]);
  // A message as the service sends one: an ended session (JSON, as RevocationService writes it).
  const payload = () => JSON.stringify({ kind: 'sessions', sessionIds: [randomUUID()], forgetAt: Math.floor(Date.now() / 1000) + 905 });
  let waiting: { payload: string; resolve: (at: bigint) => void } | undefined;
  const arrived = (text: string | undefined) => {
    if (waiting && text === waiting.payload) waiting.resolve(process.hrtime.bigint());
  };
  listener.on('notification', (message: Notification) => arrived(message.payload));
  subscriber.on('message', (_channel: string, text: string) => arrived(text));
  await listener.query(`LISTEN ${CHANNEL}`);
  await subscriber.subscribe(CHANNEL);

  const send: Record<Kind, (text: string) => Promise<bigint>> = {
    postgresNotify: async (text) => {
      const started = process.hrtime.bigint();
      await notifier.query('SELECT pg_notify($1, $2)', [CHANNEL, text]);
      return started;
    },
    postgresNotifyInTransaction: async (text) => {
      await notifier.query('BEGIN');
      await notifier.query('SELECT pg_notify($1, $2)', [CHANNEL, text]);
      const started = process.hrtime.bigint();
      await notifier.query('COMMIT');
      return started;
    },
    redisPublish: async (text) => {
      const started = process.hrtime.bigint();
      await publisher.publish(CHANNEL, text);
      return started;
    },
  };
  const samples: Record<Kind, number[]> = { postgresNotify: [], postgresNotifyInTransaction: [], redisPublish: [] };
  const once = async (kind: Kind) => {
    const text = payload();
    const received = new Promise<bigint>((resolve) => (waiting = { payload: text, resolve }));
    const started = await send[kind](text);
    const at = await Promise.race([received, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${kind}: no message within 5 s`)), 5000).unref())]);
    samples[kind].push(Number(at - started) / 1e6);
  };
  try {
    const perRound = Math.ceil(messages / ROUNDS);
    const kinds = Object.keys(send) as Kind[];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Each kind first in turn; a few unmeasured messages warm each path.
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
        for (let i = 0; i < 20; i += 1) await once(kind);
        samples[kind].splice(-20);
        for (let i = 0; i < perRound; i += 1) await once(kind);
      }
    }
  } finally {
    await Promise.all([listener.end(), notifier.end(), subscriber.quit(), publisher.quit()]);
  }
  return {
    postgresNotify: summary(samples.postgresNotify),
    postgresNotifyInTransaction: summary(samples.postgresNotifyInTransaction),
    redisPublish: summary(samples.redisPublish),
    payloadBytes: Buffer.byteLength(payload()),
  };
}

function summary(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const ms = (value: number) => Math.round(value * 1000) / 1000;
  return { messages: sorted.length, p50Ms: ms(at(0.5)), p99Ms: ms(at(0.99)), maxMs: ms(sorted[sorted.length - 1]) };
}

if (require.main === module) {
  const messages = Number(process.argv[2] ?? 2000);
  channelLatency(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', messages)
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
