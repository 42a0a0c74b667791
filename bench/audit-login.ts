/**
 * What auditing costs a login (npm run bench, after the other steps): logins per second of
 * two service processes that differ only in auditing, side by side in alternating rounds.
 * One is the service as built; the other mounts a bench-only module that makes
 * AuditService.record() a no-op (bench/audit-server.ts, BENCH_AUDIT=off). Both do the rest
 * of a login alike: bcrypt, the session's transaction and its account check. The ratio of
 * each round compares the two within seconds of each other; the median of the rounds is
 * reported, with the CPU each login cost the service. Its settings (seconds, rounds,
 * concurrency, bcrypt cost, database) are those run.ts wrote into bench/results.json, which
 * gets an `auditLogin` entry. See docs/BENCHMARKS.md.
 */
import autocannon from 'autocannon';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, ServiceProcess, startServiceProcess } from './service-process';
import { temporaryPostgres } from './temporary-postgres';

const ROOT = join(__dirname, '..', '..');
const RESULTS = join(ROOT, 'bench', 'results.json');
const SERVER = join(__dirname, 'audit-server.js');
const PASSWORD = 'bench password that is long enough';
const GOAL = 0.95;

interface Settings {
  seconds: number;
  rounds: number;
  loginConcurrency: number;
  bcryptCost: number;
}

type Server = ServiceProcess;

interface Run {
  rps: number;
  cpuUsPerLogin: number;
  non2xx: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function auditLoginStep(resultsPath = RESULTS): Promise<void> {
  const results = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, any>) : {};
  const settings: Settings = { seconds: 4, rounds: 5, loginConcurrency: 8, bcryptCost: 10, ...results.settings };
  log('logins with auditing against logins without, in alternating rounds…');
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const start = async (audit: 'on' | 'off') => {
      const database = await newDatabase();
      cleanups.push(database.drop);
      const server = await startServiceProcess(SERVER, ROOT, { ...database.env, BENCH_AUDIT: audit, BCRYPT_COST: String(settings.bcryptCost) });
      cleanups.push(server.stop);
      await fetch(`${server.url}/auth/register`, { method: 'POST', body: loginBody(), headers: { 'content-type': 'application/json' } });
      return server;
    };
    const on = await start('on');
    const off = await start('off');
    for (const server of [on, off]) await loginLoad(server, settings, 2); // warm-up
    const rounds: Array<{ on: Run; off: Run }> = [];
    for (let round = 0; round < settings.rounds; round += 1) {
      // Each first in turn, so that a machine speeding up or slowing down within a round favours neither.
      if (round % 2 === 0) {
        const onRun = await loginLoad(on, settings);
        rounds.push({ on: onRun, off: await loginLoad(off, settings) });
      } else {
        const offRun = await loginLoad(off, settings);
        rounds.push({ on: await loginLoad(on, settings), off: offRun });
      }
    }
    const ratio = median(rounds.map((r) => r.on.rps / r.off.rps));
    const auditLogin = {
      ratio: round(ratio, 3),
      loginsPerSecondAudited: round(median(rounds.map((r) => r.on.rps)), 1),
      loginsPerSecondUnaudited: round(median(rounds.map((r) => r.off.rps)), 1),
      cpuUsPerLoginAudited: round(median(rounds.map((r) => r.on.cpuUsPerLogin))),
      cpuUsPerLoginUnaudited: round(median(rounds.map((r) => r.off.cpuUsPerLogin))),
      non2xx: rounds.reduce((sum, r) => sum + r.on.non2xx + r.off.non2xx, 0),
      rounds: rounds.map((r) => ({ auditedRps: round(r.on.rps, 1), unauditedRps: round(r.off.rps, 1) })),
      measured: 'two service processes, the second with AuditService.record() a no-op (bench-only module), alternating rounds; median of the per-round ratios',
      goal: { ratioAtLeast: GOAL },
    };
    if (existsSync(resultsPath)) writeFileSync(resultsPath, JSON.stringify({ ...results, auditLogin }, null, 2) + '\n');
    const mark = ratio >= GOAL ? 'goal met' : 'GOAL MISSED';
    console.log(
      `8. logins audited / unaudited  ${auditLogin.ratio} (${auditLogin.loginsPerSecondAudited} / ${auditLogin.loginsPerSecondUnaudited} per s; ` +
        `CPU ${auditLogin.cpuUsPerLoginAudited} / ${auditLogin.cpuUsPerLoginUnaudited} µs a login)  [≥ ${GOAL}: ${mark}]`,
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

function loginBody(): string {
  return JSON.stringify({ email: 'bench@example.com', password: PASSWORD });
}

async function loginLoad(server: Server, settings: Settings, seconds = settings.seconds): Promise<Run> {
  const cpuBefore = cpuSeconds(server);
  const result = await autocannon({
    url: `${server.url}/auth/login`,
    method: 'POST',
    body: loginBody(),
    headers: { 'content-type': 'application/json' },
    connections: settings.loginConcurrency,
    duration: seconds,
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    rps: requests / (result.duration || seconds),
    cpuUsPerLogin: ((cpuSeconds(server) - cpuBefore) * 1e6) / Math.max(requests, 1),
    non2xx: result.non2xx,
  };
}

/** A database of its own for each process: a PGlite directory, or a new database on DATABASE_URL's server. */
async function newDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { env: { DATA_DIR: dataDir }, drop: removeDir };
  const database = await temporaryPostgres(serverUrl);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: database.url },
    drop: async () => {
      await database.drop();
      await removeDir();
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

// Run alone (after npm run bench has built it): node dist-bench/bench/audit-login.js [results.json to read and add to]
if (require.main === module) {
  auditLoginStep(process.argv[2]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
