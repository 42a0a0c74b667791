/**
 * Forgot-password timing, for bench/run.ts: POST /auth/password/forgot for an address with
 * an account and for one without, one request at a time, the two kinds interleaved, on a
 * service of its own (production mode, a local SMTP server that accepts and discards).
 * The contract asks for the same time for both: the medians must be within 10%.
 *
 * One request at a time, with a pause between: what one client can do (the per-IP limit,
 * AUTH_RATE_LIMIT, allows 10 a minute by default). The account's token, outbox row and
 * audit event are written just after the answer (EmailRequestsWorker); the pause lets that work
 * end before the next request, as a client held to the per-IP limit always sees.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

export interface ForgotTiming {
  samples: number;
  pauseMs: number;
  knownMedianMs: number;
  unknownMedianMs: number;
  knownP90Ms: number;
  unknownP90Ms: number;
  /** |known − unknown| / max(known, unknown), of the medians. */
  difference: number;
  /** Reset mails the SMTP server accepted during the run: the known address's work was really done. */
  mailsSent: number;
  goal: { differenceUnder: number };
}

const SAMPLES = Number(process.env.BENCH_FORGOT_SAMPLES ?? 300);
const PAUSE_MS = Number(process.env.BENCH_FORGOT_PAUSE_MS ?? 20);
const WARM_UP = 50;
const ROOT = join(__dirname, '..', '..');

/**
 * Runs the step and writes bench/forgot-timing.json. `startServer` is run.ts's (the built
 * service in production mode, in a child process); `temporaryDatabase` makes a PostgreSQL
 * database for it (dropped after), or, without it, the service runs on a new PGlite directory.
 */
export async function forgotTiming(
  startServer: (env: Record<string, string>) => Promise<BenchServer>,
  log: (line: string) => void,
  temporaryDatabase?: () => Promise<{ url: string; drop(): Promise<unknown> }>,
): Promise<ForgotTiming> {
  log('forgot-password timing, known and unknown addresses…');
  let mailsSent = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        mailsSent += 1;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-forgot-'));
  const database = await temporaryDatabase?.();
  const server = await startServer({
    ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }),
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    // Every request for the known address does the whole work: no per-address limit.
    EMAIL_RATE_LIMIT: '1000000',
  });
  try {
    const known = `forgot.${randomBytes(4).toString('hex')}@example.com`;
    const registered = await post(server.url, '/auth/register', { email: known, password: 'bench password that is long enough' });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);

    const timings = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < WARM_UP + SAMPLES; i += 1) {
      // Interleaved, each kind first in turn, so that a drift of the machine hits both alike.
      for (const kind of i % 2 ? (['unknown', 'known'] as const) : (['known', 'unknown'] as const)) {
        const email = kind === 'known' ? known : `nobody.${i}.${randomBytes(4).toString('hex')}@example.com`;
        const started = process.hrtime.bigint();
        const response = await post(server.url, '/auth/password/forgot', { email });
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        if (response.status !== 202) throw new Error(`forgot answered ${response.status}`);
        if (i >= WARM_UP) timings[kind].push(elapsedMs);
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      }
    }
    // The known address's mails go out within a poll or two: wait for the last ones.
    const deadline = Date.now() + 10_000;
    while (mailsSent < WARM_UP + SAMPLES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    const knownMedianMs = quantile(timings.known, 0.5);
    const unknownMedianMs = quantile(timings.unknown, 0.5);
    const result: ForgotTiming = {
      samples: SAMPLES,
      pauseMs: PAUSE_MS,
      knownMedianMs: round(knownMedianMs),
      unknownMedianMs: round(unknownMedianMs),
      knownP90Ms: round(quantile(timings.known, 0.9)),
      unknownP90Ms: round(quantile(timings.unknown, 0.9)),
      difference: round(Math.abs(knownMedianMs - unknownMedianMs) / Math.max(knownMedianMs, unknownMedianMs), 4),
      mailsSent,
      goal: { differenceUnder: 0.1 },
    };
    writeFileSync(join(ROOT, 'bench', 'forgot-timing.json'), JSON.stringify({ when: new Date().toISOString(), database: database ? 'postgresql' : 'pglite', ...result }, null, 2) + '\n');
    const verdict = result.difference < 0.1 ? 'goal met' : 'GOAL MISSED';
    log(
      `forgot-password medians: known ${result.knownMedianMs} ms, unknown ${result.unknownMedianMs} ms, ` +
        `${(result.difference * 100).toFixed(1)}% apart (< 10%: ${verdict}); ${mailsSent} reset mails sent; written to bench/forgot-timing.json`,
    );
    return result;
  } finally {
    await server.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

async function post(url: string, path: string, body: object): Promise<{ status: number }> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return { status: response.status };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below] + (sorted[Math.ceil(at)] - sorted[below]) * (at - below);
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `node dist-bench/bench/forgot-timing.js`: this step alone, with a server started as run.ts starts it. */
if (require.main === module) {
  void import('node:child_process').then(async ({ spawn }) => {
    const startServer = async (env: Record<string, string>): Promise<BenchServer> => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const child = spawn(process.execPath, [join(__dirname, 'server.js')], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, NODE_ENV: 'production', PORT: String(port), JWT_SECRET: randomBytes(36).toString('base64url'), BCRYPT_COST: '10', ...env },
      });
      const url = `http://127.0.0.1:${port}`;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
        if (await fetch(`${url}/health`).then((r) => r.status === 200, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { url, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
    };
    // DATABASE_URL, when set, names a database of its own for this run (it is not dropped).
    const database = process.env.DATABASE_URL ? async () => ({ url: process.env.DATABASE_URL!, drop: async () => undefined }) : undefined;
    await forgotTiming(startServer, (line) => process.stderr.write(`${line}\n`), database);
  });
}
