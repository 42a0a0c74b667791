import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { createTestDatabase, TEST_JWT_SECRET, TestDatabase } from './support/test-app';

/**
 * The built programs (`nest build`, as `npm start` and `npm run user:create` run them), each
 * in a process of its own.
 *
 * SIGTERM to the service (`node dist/src/main.js`): a login in flight when the signal
 * arrives (bcrypt at cost 13 takes a good half second) still gets its 200 and its tokens,
 * which needs the database after the signal; then the process exits.
 *
 * `user:create` (`node dist/src/cli/create-user.js`) ends by itself, also on a database
 * that exists already, where a PGlite left open used to keep it alive for ever.
 */

const ROOT = join(__dirname, '..');
let database: TestDatabase;
let service: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build'], { cwd: ROOT, stdio: 'ignore' });
  database = await createTestDatabase();
  const port = 20000 + Math.floor(Math.random() * 20000);
  url = `http://127.0.0.1:${port}`;
  service = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...database.env, PORT: String(port), JWT_SECRET: TEST_JWT_SECRET, BCRYPT_COST: '13', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  service.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (service.exitCode !== null) throw new Error(`the service exited at start:\n${output}`);
    if (await fetch(`${url}/health`).then((response) => response.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the service did not start:\n${output}`);
}, 180_000);

afterAll(async () => {
  if (service?.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
  await database?.drop();
});

const post = (path: string, body: object) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('SIGTERM', () => {
  it('lets an in-flight login finish with its tokens, then exits', async () => {
    const email = uniqueEmail('sigterm');
    expect((await post('/auth/register', { email, password: GOOD_PASSWORD })).status).toBe(201);

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      service.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const login = post('/auth/login', { email, password: GOOD_PASSWORD });
    await new Promise((resolve) => setTimeout(resolve, 150)); // the login is in bcrypt now
    service.kill('SIGTERM');

    const response = await login;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { accessToken: string; refreshToken: string };
    expect(body.refreshToken).toMatch(/^rt_/); // the session row was written after the signal

    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGTERM', `exit ${code} ${signal}\n${output}`).toBe(true);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(output).not.toMatch(/"level":50/); // no error was logged on the way down
  });
});

/** Runs the built CLI to its end; a process still alive after a minute is killed, and fails the test. */
function createUser(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'dist/src/cli/create-user.js'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env, BCRYPT_COST: '4' }, timeout: 60_000, killSignal: 'SIGKILL' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
  });
}

describe('npm run user:create', () => {
  it('exits by itself, 0 both times, when run twice on one database: created, then left as it is', async () => {
    const own = await createTestDatabase(); // the service above holds its own PGlite directory
    try {
      const email = uniqueEmail('cli');
      const first = await createUser(own.env, '--email', email, '--password', GOOD_PASSWORD, '--admin');
      expect(first, 'first run').toMatchObject({ code: 0, signal: null, stderr: '' });
      expect(first.stdout).toMatch(/^created \S+ \(.+\) with roles user, admin\n$/);
      expect(first.stdout).toContain(email);

      const second = await createUser(own.env, '--email', email, '--password', GOOD_PASSWORD, '--admin');
      expect(second, 'second run').toMatchObject({ code: 0, signal: null, stderr: '' });
      expect(second.stdout).toMatch(/exists already with roles user, admin: nothing changed/);

      // Asked for a role the account lacks: refused, with the reason, and the process still ends.
      const plain = uniqueEmail('cli-plain');
      expect(await createUser(own.env, '--email', plain, '--password', GOOD_PASSWORD)).toMatchObject({ code: 0, signal: null });
      const promote = await createUser(own.env, '--email', plain, '--password', GOOD_PASSWORD, '--admin');
      expect(promote).toMatchObject({ code: 1, signal: null });
      expect(promote.stderr).toMatch(/exists already with roles user, not admin: nothing changed/);
    } finally {
      await own.drop();
    }
  }, 240_000);
});
