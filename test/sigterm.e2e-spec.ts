import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, uniqueEmail } from './support/api';
import { createTestDatabase, TEST_JWT_SECRET, TestDatabase } from './support/test-app';

/**
 * SIGTERM to the built service (`node dist/src/main.js`, as `npm start` runs it), in a
 * process of its own: a login in flight when the signal arrives (bcrypt at cost 13 takes
 * a good half second) still gets its 200 and its tokens, which needs the database after
 * the signal; then the process exits.
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
