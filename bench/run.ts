/**
 * npm run bench: starts the built service in production mode in its own process (with
 * the bench-only routes of bench.module.ts), drives it with autocannon from this
 * process, prints a table and writes bench/results.json. Every ratio compares two
 * figures measured side by side in this one run. See docs/BENCHMARKS.md.
 */
import autocannon from 'autocannon';
import * as bcrypt from 'bcrypt';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { channelLatency } from './channel-latency';
import { auditLoginStep } from './audit-login';
import { forgotTiming } from './forgot-timing';
import { GuardMicro, guardMicroseconds } from './guard-micro';
import { revocationStateMemory } from './revocation-memory';
import { cpuSeconds, ServiceProcess, startServiceProcess } from './service-process';
import { temporaryPostgres } from './temporary-postgres';

const ROOT = join(__dirname, '..', '..');
const SERVER = join(__dirname, 'server.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// The guard's difference is a few µs against a machine whose speed moves by tens of µs a
// request from one second to the next: many short pairs, whose two halves are close in time.
const GUARD_ROUNDS = 4 * ROUNDS;
const GUARD_SECONDS = Math.max(1, Math.round(SECONDS / 2));
const CONNECTIONS = 32;
const LOGIN_CONCURRENCY = 8;
const BCRYPT_COST = 10; // the lowest cost production accepts
const MEMORY_REQUESTS = 200_000;
/** The in-process guard's own secret (isolatedGuard); the service's are service-process.ts's. */
const JWT_SECRET = randomBytes(36).toString('base64url');
/** Ended sessions in the bench service's revocation state while the guard is measured. */
const REVOKED_SESSIONS = 100_000;
/** Logout-alls on one instance, each timed to the first 401 on another. */
const REVOCATION_TRIALS = Number(process.env.BENCH_REVOCATION_TRIALS ?? 200);
const CHANNEL_MESSAGES = 1000;
const PASSWORD = 'bench password that is long enough';
const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_REDIS = 'redis://127.0.0.1:6379';

type Server = ServiceProcess;

interface Run {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  cpuUsPerRequest: number;
}

interface EventLoopDelay {
  resolutionMs: number;
  p99Ms: number;
  maxMs: number;
  p99IntervalMs: number;
}

const BENCH_STARTED = Date.now();
/** Each step's line says when it began: the steps must keep the whole run short. */
const log = (line: string) => process.stderr.write(`[${Math.round((Date.now() - BENCH_STARTED) / 1000)} s] ${line}\n`);

async function main() {
  const started = Date.now();
  const database = process.env.DATABASE_URL ? await temporaryPostgres(process.env.DATABASE_URL) : undefined;

  log('the guard in isolation…');
  const isolated = isolatedGuard();

  log('the revocation state\'s memory for 100,000 ended sessions…');
  const stateMemory = revocationStateMemory(REVOKED_SESSIONS);

  log('start-up timings…');
  const startup = await startupTimings();

  const dataDir = mkdtempSync(join(tmpdir(), 'bench-'));
  const server = await startServer(database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir });
  try {
    const token = await loginToken(server.url);
    const bearer = { authorization: `Bearer ${token}` };

    log('100,000 ended sessions into the service\'s revocation state…');
    const revoked = await revokeSessions(server, REVOKED_SESSIONS);

    log('warming up…');
    await load(server, { path: '/bench/protected', headers: bearer, amount: 100_000 });
    for (const route of ['public', 'recipe', 'uncached', 'passport', 'public', 'protected'] as const) {
      await load(server, { path: `/bench/${route}`, headers: bearer, duration: 2 });
    }

    log('guard cost, without the cache, through Passport, and the usual recipe…');
    const rounds: Array<{ public: Run; protected: Run; uncached?: Run; passport?: Run; recipe?: Run }> = [];
    for (let round = 0; round < GUARD_ROUNDS; round += 1) {
      // The same headers on every route, so that only the authentication differs. The pair
      // runs back to back, each first in turn, so that a machine slowing down or speeding
      // up within a round favours neither.
      const run = (route: string) => load(server, { path: `/bench/${route}`, headers: bearer, duration: GUARD_SECONDS });
      const [first, second] = round % 2 === 0 ? ['public', 'protected'] : ['protected', 'public'];
      const pair = { [first]: await run(first), [second]: await run(second) } as { public: Run; protected: Run };
      rounds.push(round % 2 === 1 ? { ...pair, uncached: await run('uncached'), passport: await run('passport'), recipe: await run('recipe') } : pair);
    }
    const pub = median(rounds.map((r) => r.public));
    const prot = median(rounds.map((r) => r.protected));
    const withRecipe = rounds.filter((r): r is Required<(typeof rounds)[number]> => r.recipe !== undefined);
    const recipe = median(withRecipe.map((r) => r.recipe));
    // A ratio or difference within one round sees the same machine on both sides; the
    // median over the rounds resists a noisy one.
    const guardCpus = rounds.map((r) => r.protected.cpuUsPerRequest - r.public.cpuUsPerRequest);
    const guardRatio = medianOf(rounds.map((r) => r.protected.rps / r.public.rps));
    const guardCpu = medianOf(guardCpus);
    const recipeRatio = medianOf(withRecipe.map((r) => r.protected.rps / r.recipe.rps));
    const uncachedCpu = medianOf(withRecipe.map((r) => r.uncached.cpuUsPerRequest - r.public.cpuUsPerRequest));
    const uncachedRatio = medianOf(withRecipe.map((r) => r.uncached.rps / r.public.rps));
    const passportCpu = medianOf(withRecipe.map((r) => r.passport.cpuUsPerRequest - r.public.cpuUsPerRequest));
    const passportRatio = medianOf(withRecipe.map((r) => r.passport.rps / r.public.rps));

    log('memory over 200,000 protected requests…');
    const before = await settledMemory(server);
    await load(server, { path: '/bench/protected', headers: bearer, amount: MEMORY_REQUESTS });
    const after = await settledMemory(server);

    log('login against raw bcrypt, in alternating rounds…');
    const loginLoad = {
      path: '/auth/login',
      method: 'POST',
      body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }),
      headers: { 'content-type': 'application/json' },
      connections: LOGIN_CONCURRENCY,
    } as const;
    await load(server, { ...loginLoad, duration: 2 }); // warm-up, as for the routes above
    const bcryptRates: number[] = [];
    const logins: Run[] = [];
    const eventLoops: EventLoopDelay[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      bcryptRates.push(await rawBcryptRate());
      await fetch(`${server.url}/bench/event-loop`); // reset the histogram
      logins.push(await load(server, loginLoad));
      eventLoops.push((await (await fetch(`${server.url}/bench/event-loop`)).json()) as EventLoopDelay);
    }
    const bcryptRate = medianOf(bcryptRates);
    const login = median(logins);
    const loginRatio = medianOf(logins.map((run, i) => run.rps / bcryptRates[i]));
    const eventLoop = [...eventLoops].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(ROUNDS / 2)];

    log('refresh rotation…');
    const refresh = await refreshLoad(server);

    log(`revocation across two instances on PostgreSQL (${REVOCATION_TRIALS} logout-alls)…`);
    const propagation = await revocationPropagation();

    log('the channel: NOTIFY → LISTEN against PUBLISH → SUBSCRIBE…');
    const channel = await channelLatency(process.env.DATABASE_URL ?? LOCAL_POSTGRES, process.env.REDIS_URL ?? LOCAL_REDIS, CHANNEL_MESSAGES).catch(
      (error: unknown) => {
        log(`  skipped: ${(error as Error).message}`);
        return null;
      },
    );

    const results = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      database: database ? 'postgresql' : 'pglite',
      settings: { seconds: SECONDS, rounds: ROUNDS, guardRounds: GUARD_ROUNDS, guardSeconds: GUARD_SECONDS, connections: CONNECTIONS, loginConcurrency: LOGIN_CONCURRENCY, bcryptCost: BCRYPT_COST },
      guard: {
        ratio: round(guardRatio, 3),
        cpuUsPerRequest: round(guardCpu, 1),
        publicRps: round(pub.rps),
        protectedRps: round(prot.rps),
        publicCpuUsPerRequest: round(pub.cpuUsPerRequest, 1),
        protectedCpuUsPerRequest: round(prot.cpuUsPerRequest, 1),
        // The guard's check without the cache (ACCESS_TOKEN_CACHE_SIZE=0): a full verification
        // through @nestjs/jwt on every request, in the same rounds.
        uncachedRatio: round(uncachedRatio, 3),
        uncachedCpuUsPerRequest: round(uncachedCpu, 1),
        // The `jwt` strategy through Passport (@UseGuards(AuthGuard('jwt'))): passport-jwt, jsonwebtoken, no cache.
        passportRatio: round(passportRatio, 3),
        passportCpuUsPerRequest: round(passportCpu, 1),
        // JwtAuthGuard.canActivate() and AccessTokenService.verify() called in a loop in this
        // process: the code's own cost, which the machine's noise barely moves.
        isolatedUsPerCall: isolated.medianUs,
        isolatedUncachedUsPerCall: isolated.uncachedUs,
        verifyUsPerCall: isolated.verifyUs,
        jwtServiceVerifyUsPerCall: isolated.jwtServiceVerifyUs,
        // The load test presents one token throughout: after its first request, the hit path.
        tokenCacheSize: Number(process.env.ACCESS_TOKEN_CACHE_SIZE ?? 10_000),
        // Every request also asks the revocation state, which holds this many ended sessions.
        revokedSessionsInState: revoked.state.sessions,
        // The middle half of the rounds' differences: how far the machine moved them.
        cpuUsPerRequestQuartiles: [round(quantile(guardCpus, 0.25), 1), round(quantile(guardCpus, 0.75), 1)],
        rounds: rounds.map((r) => ({
          publicRps: round(r.public.rps),
          protectedRps: round(r.protected.rps),
          publicCpuUs: round(r.public.cpuUsPerRequest, 1),
          protectedCpuUs: round(r.protected.cpuUsPerRequest, 1),
        })),
        goal: { ratioAtLeast: 0.75, cpuUsAtMost: 15 },
      },
      recipe: {
        ratio: round(recipeRatio, 2),
        recipeRps: round(recipe.rps),
        recipeToPublicRatio: round(recipe.rps / pub.rps, 3),
        recipeCpuUsPerRequest: round(recipe.cpuUsPerRequest - pub.cpuUsPerRequest, 1),
      },
      login: {
        ratio: round(loginRatio, 3),
        loginsPerSecond: round(login.rps, 1),
        bcryptComparesPerSecond: round(bcryptRate, 1),
        p99Ms: login.p99Ms,
        non2xx: login.non2xx,
        goal: { ratioAtLeast: 0.9 },
      },
      refresh: {
        rps: round(refresh.rps, 1),
        p50Ms: refresh.p50Ms,
        p99Ms: refresh.p99Ms,
        ratioToPublic: round(refresh.rps / pub.rps, 4),
        non2xx: refresh.non2xx,
        concurrency: CONNECTIONS,
      },
      eventLoop: {
        p99Ms: round(eventLoop.p99Ms, 2),
        maxMs: round(eventLoop.maxMs, 2),
        // What the histogram itself holds: the interval between the sampling timer's ticks.
        p99IntervalMs: round(eventLoop.p99IntervalMs, 2),
        resolutionMs: eventLoop.resolutionMs,
        under: 'login load',
        goal: { p99MsUnder: 20 },
      },
      memory: {
        rssAfterWarmupMb: round(before.rss / 2 ** 20, 1),
        rssAfterMb: round(after.rss / 2 ** 20, 1),
        growth: round((after.rss - before.rss) / before.rss, 4),
        heapUsedAfterWarmupMb: round(before.heapUsed / 2 ** 20, 1),
        heapUsedAfterMb: round(after.heapUsed / 2 ** 20, 1),
        heapGrowth: round((after.heapUsed - before.heapUsed) / before.heapUsed, 4),
        requests: MEMORY_REQUESTS,
        measuredAfter: 'a full GC in the service process',
        goal: { growthUnder: 0.1 },
      },
      revocation: {
        // A logout-all on one instance, then requests to the other until the first 401.
        propagation,
        goal: { p99MsUnder: 100 },
        // RevocationState in the harness: heap after a full GC, before and after applying them.
        stateMemory,
        // The bench service: REVOKED_SESSIONS ended through RevocationService before the guard rounds, and its heap's growth.
        serviceState: revoked,
        channel,
      },
      startup,
      elapsedSeconds: round((Date.now() - started) / 1000, 1),
    };
    writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
    printTable(results);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
  await auditLoginStep(); // its own service processes, once the others have stopped; adds auditLogin to results.json
  await forgotTiming(startServer, log, process.env.DATABASE_URL ? () => temporaryPostgres(process.env.DATABASE_URL!) : undefined); // writes bench/forgot-timing.json
}

/**
 * Ends `count` sessions in the service's RevocationService (/bench/revoked-sessions): the
 * guard's state then holds them while it is measured. Also the service's heap after a full
 * GC before and after.
 */
async function revokeSessions(server: Server, count: number) {
  const before = await settledMemory(server);
  const revoked = await fetch(`${server.url}/bench/revoked-sessions?count=${count}`, { method: 'POST' });
  if (revoked.status !== 201) throw new Error(`revoking ${count} sessions failed: ${revoked.status} ${await revoked.text()}`);
  const { applyMs, state } = (await revoked.json()) as { applyMs: number; state: { sessions: number; users: number } };
  const after = await settledMemory(server);
  if (state.sessions < count) throw new Error(`the service's revocation state holds ${state.sessions} sessions, not ${count}`);
  return { sessions: count, applyMs: round(applyMs), state, heapGrowthMb: round((after.heapUsed - before.heapUsed) / 2 ** 20, 1) };
}

/**
 * Two service processes on one PostgreSQL database. Each trial: a new session of one user on
 * the first (/bench/sessions, no bcrypt), its token accepted by the second, then
 * `POST /auth/logout-all` on the first while this process asks the second again and again
 * (one request at a time) until it answers 401 token_revoked. The figure is the time from
 * sending the logout-all to that 401; the logout-all's own round trip is beside it.
 */
async function revocationPropagation() {
  const database = await temporaryPostgres(process.env.DATABASE_URL ?? LOCAL_POSTGRES).catch(() => undefined);
  if (!database) return null;
  const dirs = [mkdtempSync(join(tmpdir(), 'bench-a-')), mkdtempSync(join(tmpdir(), 'bench-b-'))];
  const servers: Server[] = [];
  try {
    // One after the other: the first migrates the new database.
    for (const dir of dirs) servers.push(await startServer({ DATABASE_URL: database.url, DATA_DIR: dir }));
    const [first, second] = servers;
    const registered = await fetch(`${first.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'propagation@example.com', password: PASSWORD }),
    });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
    const { user } = (await registered.json()) as { user: { id: string } };
    const toFirst401: number[] = [];
    const logoutAll: number[] = [];
    const after204: number[] = [];
    let polls = 0;
    for (let trial = 0; trial < REVOCATION_TRIALS; trial += 1) {
      const minted = await fetch(`${first.url}/bench/sessions/${user.id}`, { method: 'POST' });
      const { accessToken } = (await minted.json()) as { accessToken: string };
      const headers = { authorization: `Bearer ${accessToken}` };
      const accepted = await fetch(`${second.url}/bench/protected`, { headers });
      await accepted.arrayBuffer();
      if (accepted.status !== 200) throw new Error(`the second instance refused a new token: ${accepted.status}`);
      const sent = performance.now();
      const loggedOut = fetch(`${first.url}/auth/logout-all`, { method: 'POST', headers }).then(async (response) => {
        await response.arrayBuffer();
        if (response.status !== 204) throw new Error(`logout-all answered ${response.status}`);
        return performance.now();
      });
      let refused = 0;
      while (refused === 0) {
        const response = await fetch(`${second.url}/bench/protected`, { headers });
        const body = await response.text();
        polls += 1;
        if (response.status === 401) {
          if (!body.includes('token_revoked')) throw new Error(`the second instance answered 401 ${body}`);
          refused = performance.now();
        } else if (performance.now() - sent > 10_000) {
          throw new Error('the second instance still accepted the token 10 s after the logout-all');
        }
      }
      const answered = await loggedOut;
      toFirst401.push(refused - sent);
      logoutAll.push(answered - sent);
      after204.push(Math.max(0, refused - answered));
    }
    return {
      trials: REVOCATION_TRIALS,
      p50Ms: round(quantile(toFirst401, 0.5), 1),
      p99Ms: round(quantile(toFirst401, 0.99), 1),
      maxMs: round(Math.max(...toFirst401), 1),
      logoutAllP50Ms: round(quantile(logoutAll, 0.5), 1),
      logoutAllP99Ms: round(quantile(logoutAll, 0.99), 1),
      // How long after the logout-all's 204 reached this process the second still accepted the token (0: refused by then).
      after204P50Ms: round(quantile(after204, 0.5), 1),
      after204P99Ms: round(quantile(after204, 0.99), 1),
      refusedBy204: round(after204.filter((ms) => ms === 0).length / REVOCATION_TRIALS, 3),
      pollsPerTrial: round(polls / REVOCATION_TRIALS, 1),
    };
  } finally {
    for (const server of servers) await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
}

/** Time from spawning the process to the first 200 from /health. */
async function startupTimings() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    const fresh = await startServer({ DATA_DIR: dir });
    await fresh.stop();
    const existing = await startServer({ DATA_DIR: dir });
    await existing.stop();
    let postgresMs: number | null = null;
    const database = await temporaryPostgres(process.env.DATABASE_URL ?? LOCAL_POSTGRES).catch(() => undefined);
    if (database) {
      try {
        const onPostgres = await startServer({ DATABASE_URL: database.url, DATA_DIR: dir });
        postgresMs = onPostgres.startupMs;
        await onPostgres.stop();
      } finally {
        await database.drop();
      }
    }
    return { newPgliteMs: fresh.startupMs, existingPgliteMs: existing.startupMs, postgresMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startServer(env: Record<string, string>): Promise<Server> {
  return startServiceProcess(SERVER, ROOT, { BCRYPT_COST: String(BCRYPT_COST), ...env });
}

async function loginToken(url: string): Promise<string> {
  const body = JSON.stringify({ email: 'bench@example.com', password: PASSWORD });
  const headers = { 'content-type': 'application/json' };
  await fetch(`${url}/auth/register`, { method: 'POST', body, headers });
  const response = await fetch(`${url}/auth/login`, { method: 'POST', body, headers });
  if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

async function load(
  server: Server,
  options: { path: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; connections?: number; duration?: number; amount?: number },
): Promise<Run> {
  const cpuBefore = cpuSeconds(server);
  const result = await autocannon({
    url: server.url + options.path,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections ?? CONNECTIONS,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? SECONDS }),
  });
  const cpu = cpuSeconds(server) - cpuBefore;
  const requests = result['2xx'] + result.non2xx;
  return {
    rps: requests / (result.duration || SECONDS),
    requests,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    cpuUsPerRequest: (cpu * 1e6) / Math.max(requests, 1),
  };
}

/**
 * 32 clients rotating refresh tokens: each request takes a live token from the pool and
 * its response puts the successor back. (autocannon clears a connection's context after
 * every pass over its request list, so the chain lives in the pool instead.)
 */
async function refreshLoad(server: Server): Promise<Run> {
  const tokens: string[] = [];
  for (let i = 0; i < CONNECTIONS; i += 1) {
    const response = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }),
    });
    tokens.push(((await response.json()) as { refreshToken: string }).refreshToken);
  }
  const cpuBefore = cpuSeconds(server);
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: 10,
    requests: [
      {
        method: 'POST',
        path: '/auth/refresh',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ refreshToken: tokens.shift() }) }),
        onResponse: (status, body) => {
          if (status === 200) tokens.push((JSON.parse(body) as { refreshToken: string }).refreshToken);
        },
      },
    ],
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    rps: requests / result.duration,
    requests,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    cpuUsPerRequest: ((cpuSeconds(server) - cpuBefore) * 1e6) / Math.max(requests, 1),
  };
}

/**
 * bcrypt.compare calls per second at the service's cost and the login run's concurrency,
 * in this process (libuv's default four threads: all the cores it can use here).
 */
async function rawBcryptRate(): Promise<number> {
  const input = createHash('sha256').update(PASSWORD).digest('base64');
  const hash = await bcrypt.hash(input, BCRYPT_COST);
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: LOGIN_CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await bcrypt.compare(input, hash);
        done += 1;
      }
    }),
  );
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Resident memory (from /proc) and V8's used heap, each right after a full GC in the service. */
async function settledMemory(server: Server): Promise<{ rss: number; heapUsed: number }> {
  const { heapUsed } = (await (await fetch(`${server.url}/bench/gc`)).json()) as { heapUsed: number };
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024, heapUsed };
}

function medianOf(values: number[]): number {
  return quantile(values, 0.5);
}

/** Interpolated between the two nearest values, so that an even count has a fair median. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below] + (sorted[Math.ceil(at)] - sorted[below]) * (at - below);
}

/** tokensConfig() reads the environment: the bench's own secret, a throwaway DATA_DIR. */
function isolatedGuard(): GuardMicro {
  const saved = { ...process.env };
  Object.assign(process.env, { JWT_SECRET, DATA_DIR: tmpdir(), NODE_ENV: 'production' });
  try {
    return guardMicroseconds();
  } finally {
    process.env = saved;
  }
}

function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function printTable(r: any) {
  const mark = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
  const rows: Array<[string, string, string]> = [
    ['1. guard: protected / public req/s', `${r.guard.ratio} (${r.guard.protectedRps} / ${r.guard.publicRps})`, `≥ 0.75: ${mark(r.guard.ratio >= 0.75)}`],
    ['1. guard: CPU µs per request', `${r.guard.cpuUsPerRequest} (${r.guard.protectedCpuUsPerRequest} − ${r.guard.publicCpuUsPerRequest}; middle half of ${r.settings.guardRounds} rounds ${r.guard.cpuUsPerRequestQuartiles.join(' to ')})`, `≤ 15: ${mark(r.guard.cpuUsPerRequest <= 15)}`],
    ['1. guard without the cache', `${r.guard.uncachedRatio} of public, ${r.guard.uncachedCpuUsPerRequest} µs CPU a request; through Passport ${r.guard.passportRatio}, ${r.guard.passportCpuUsPerRequest} µs`, 'reported'],
    ['1. guard alone, µs per call', `${r.guard.isolatedUsPerCall} remembered token, ${r.guard.isolatedUncachedUsPerCall} full verification (verify ${r.guard.verifyUsPerCall}, JwtService.verify ${r.guard.jwtServiceVerifyUsPerCall})`, 'reported'],
    ['1. guard state: ended sessions', `${r.guard.revokedSessionsInState} (applied in ${r.revocation.serviceState.applyMs} ms; service heap +${r.revocation.serviceState.heapGrowthMb} MB)`, 'reported'],
    ['2. ours / usual recipe req/s', `${r.recipe.ratio} (recipe ${r.recipe.recipeRps}, ${r.recipe.recipeToPublicRatio} of public)`, 'reported'],
    ['3. logins / raw bcrypt per s', `${r.login.ratio} (${r.login.loginsPerSecond} / ${r.login.bcryptComparesPerSecond})`, `≥ 0.90: ${mark(r.login.ratio >= 0.9)}`],
    ['4. refresh rotations', `${r.refresh.rps}/s, p50 ${r.refresh.p50Ms} ms, p99 ${r.refresh.p99Ms} ms, ${r.refresh.ratioToPublic} of public`, 'reported'],
    ['5. event loop p99 under login', `${r.eventLoop.p99Ms} ms late (ticks of a ${r.eventLoop.resolutionMs} ms timer: p99 ${r.eventLoop.p99IntervalMs} ms apart)`, `< 20 ms: ${mark(r.eventLoop.p99Ms < 20)}`],
    ['6. RSS growth, 200k requests', `${(r.memory.growth * 100).toFixed(1)}% (${r.memory.rssAfterWarmupMb} → ${r.memory.rssAfterMb} MB)`, `< 10%: ${mark(r.memory.growth < 0.1)}`],
    ['7. start-up to first /health 200', `new PGlite ${r.startup.newPgliteMs} ms, existing ${r.startup.existingPgliteMs} ms, PostgreSQL ${r.startup.postgresMs ?? 'n/a'} ms`, 'reported'],
    ['9. logout-all on A → first 401 on B', r.revocation.propagation ? `p50 ${r.revocation.propagation.p50Ms} ms, p99 ${r.revocation.propagation.p99Ms} ms over ${r.revocation.propagation.trials} (the logout-all's own round trip p50 ${r.revocation.propagation.logoutAllP50Ms}, p99 ${r.revocation.propagation.logoutAllP99Ms} ms; after its 204, p99 ${r.revocation.propagation.after204P99Ms} ms)` : 'n/a (no PostgreSQL)', r.revocation.propagation ? `p99 < 100 ms: ${mark(r.revocation.propagation.p99Ms < 100)}` : 'not measured'],
    ['10. revocation state, 100k sessions', `${round(r.revocation.stateMemory.heapBytes / 2 ** 20, 1)} MB of heap (${r.revocation.stateMemory.bytesPerSession} B a session)`, 'reported'],
    ['11. channel p50 / p99 (ms)', r.revocation.channel ? `NOTIFY ${r.revocation.channel.postgresNotify.p50Ms} / ${r.revocation.channel.postgresNotify.p99Ms}, in a transaction from COMMIT ${r.revocation.channel.postgresNotifyInTransaction.p50Ms} / ${r.revocation.channel.postgresNotifyInTransaction.p99Ms}, Redis PUBLISH ${r.revocation.channel.redisPublish.p50Ms} / ${r.revocation.channel.redisPublish.p99Ms}` : 'n/a', 'reported'],
  ];
  const width = Math.max(...rows.map((row) => row[0].length));
  console.log(`\nbenchmark on ${r.database}, ${r.machine.cpus} cores, ${r.machine.node}, ${r.elapsedSeconds} s\n`);
  for (const [name, value, goal] of rows) console.log(`${name.padEnd(width)}  ${value}  [${goal}]`);
  console.log('\nwritten to bench/results.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
