import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A built bench server (dist-bench/bench/*-server.js) running in a process of its own. */
export interface ServiceProcess {
  process: ChildProcess;
  url: string;
  /** From spawning the process to the first 200 from /health. */
  startupMs: number;
  stop(): Promise<void>;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The secrets production requires, made up once per harness process (the SMTP server is never reached). */
const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(36).toString('base64url'),
  REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64'),
  MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  SMTP_URL: 'smtp://127.0.0.1:2525',
  EMAIL_VERIFICATION: 'off', // no mail queued, so no worker retrying against the dummy server
  // The benches measure the service, not its limits.
  AUTH_RATE_LIMIT: '1000000',
  LOGIN_BACKOFF_THRESHOLD: '1000',
};

/**
 * Starts `script` in production mode on a free port of 127.0.0.1, with `env` on top, and
 * waits for /health. The database is the caller's choice: PGlite unless env names
 * DATABASE_URL (the harness's own is never inherited).
 */
export async function startServiceProcess(script: string, cwd: string, env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, [script], {
    cwd,
    // The JSON log (one line per request, as in production) goes to /dev/null; start-up errors still show.
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...inherited, ...PRODUCTION_ENV, PORT: String(port), ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    if (await fetch(`${url}/health`).then((r) => r.status === 200, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const startupMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  return {
    process: child,
    url,
    startupMs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The CPU seconds the process has used so far, all its threads (utime + stime from /proc). */
export function cpuSeconds(service: { process: ChildProcess }): number {
  const stat = readFileSync(`/proc/${service.process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A port nothing listens on now (the machine is shared: a random one may be taken). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
