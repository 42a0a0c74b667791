import { randomUUID } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PasskeysService } from '../src/mfa/passkeys.service';
import { controlClock, createUser, expectApiError } from './support/mfa';
import { createTestDatabase, startApp, TestApp, usingPostgres } from './support/test-app';
import { SoftwareAuthenticator } from './support/webauthn-authenticator';

/**
 * PasskeysService on the real app and database, with a software authenticator that signs
 * like a real one (test/support/webauthn-authenticator.ts). The relying party is the
 * default: APP_URL http://localhost:3000, so RP ID `localhost` and that one origin.
 */
const ORIGIN = 'http://localhost:3000';

let app: TestApp;
let passkeys: PasskeysService;
let clock: ReturnType<typeof controlClock>;

beforeAll(async () => {
  app = await startApp();
  passkeys = app.app.get(PasskeysService);
  clock = controlClock(app);
});

afterAll(async () => {
  await app?.close();
});

beforeEach(() => clock.set(Date.now()));

type User = { id: string; email: string };

/** A user with one passkey registered through the service. */
async function userWithPasskey(options: ConstructorParameters<typeof SoftwareAuthenticator>[1] = {}) {
  const user = await createUser(app, 'passkey');
  const authenticator = new SoftwareAuthenticator(ORIGIN, options);
  const view = await passkeys.verifyRegistration(user.id, authenticator.register(await passkeys.registrationOptions(user)), 'Laptop');
  return { user, authenticator, view };
}

async function login(authenticator: SoftwareAuthenticator, email?: string, overrides: Parameters<SoftwareAuthenticator['login']>[1] = {}) {
  return passkeys.verifyLogin(authenticator.login(await passkeys.loginOptions(email), overrides));
}

describe('registration', () => {
  it('offers creation options of the contract and stores the passkey the authenticator made', async () => {
    const user = await createUser(app, 'passkey');
    const options = await passkeys.registrationOptions(user);
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'auth-service' },
      user: { name: user.email, displayName: user.email },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: 300_000,
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.pubKeyCredParams.map((param) => param.alg)).toEqual([-8, -7, -257]);

    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const view = await passkeys.verifyRegistration(user.id, authenticator.register(options), '  Work laptop ');
    expect(view).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Work laptop', createdAt: expect.any(String), lastUsedAt: null });
    expect(new Date(view.createdAt).toISOString()).toBe(view.createdAt);
    expect(await passkeys.list(user.id)).toEqual([view]);

    const [row] = await app.dataSource.query('SELECT credential_id, counter::text AS counter, transports, device_type, backed_up FROM passkeys WHERE id = $1', [view.id]);
    expect(row).toEqual({ credential_id: authenticator.id, counter: '0', transports: ['internal', 'hybrid'], device_type: 'singleDevice', backed_up: false });
  });

  it('names a passkey "Passkey" when no name is given, and refuses a name over 100 characters', async () => {
    const user = await createUser(app, 'passkey');
    const view = await passkeys.verifyRegistration(user.id, new SoftwareAuthenticator(ORIGIN).register(await passkeys.registrationOptions(user)));
    expect(view.name).toBe('Passkey');
    const options = await passkeys.registrationOptions(user);
    await expectApiError(passkeys.verifyRegistration(user.id, new SoftwareAuthenticator(ORIGIN).register(options), 'x'.repeat(101)), 400, 'validation_failed');
  });

  it("excludes the user's passkeys, and refuses one registered already (400 passkey_invalid)", async () => {
    const { user, authenticator } = await userWithPasskey();
    const options = await passkeys.registrationOptions(user);
    expect(options.excludeCredentials).toEqual([{ id: authenticator.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    expect(() => authenticator.register(options)).toThrow(/excludeCredentials/);
    // A client that ignores the exclusion: the credential is unique.
    await expectApiError(passkeys.verifyRegistration(user.id, authenticator.register({ ...options, excludeCredentials: [] })), 400, 'passkey_invalid');
    expect(await passkeys.list(user.id)).toHaveLength(1);
  });

  it('spends the challenge: the same response again is refused, also after a failure', async () => {
    const user = await createUser(app, 'passkey');
    const options = await passkeys.registrationOptions(user);
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const wrongOrigin = authenticator.register(options, { origin: 'https://evil.example' });
    await expectApiError(passkeys.verifyRegistration(user.id, wrongOrigin), 400, 'passkey_invalid');
    // The failure spent the challenge: a right response to it is refused too.
    await expectApiError(passkeys.verifyRegistration(user.id, authenticator.register(options)), 400, 'passkey_invalid');

    const next = authenticator.register(await passkeys.registrationOptions(user));
    await passkeys.verifyRegistration(user.id, next);
    await expectApiError(passkeys.verifyRegistration(user.id, next), 400, 'passkey_invalid');
    expect(await passkeys.list(user.id)).toHaveLength(1);
  });

  it("refuses a response to another user's challenge", async () => {
    const alice = await createUser(app, 'passkey');
    const bob = await createUser(app, 'passkey');
    const response = new SoftwareAuthenticator(ORIGIN).register(await passkeys.registrationOptions(alice));
    await expectApiError(passkeys.verifyRegistration(bob.id, response), 400, 'passkey_invalid');
  });

  it('refuses a wrong RP ID, an expired challenge, and a login challenge', async () => {
    const user = await createUser(app, 'passkey');
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    await expectApiError(
      passkeys.verifyRegistration(user.id, authenticator.register(await passkeys.registrationOptions(user), { rpId: 'evil.example' })),
      400,
      'passkey_invalid',
    );
    const options = await passkeys.registrationOptions(user);
    clock.advance(300_000);
    await expectApiError(passkeys.verifyRegistration(user.id, authenticator.register(options)), 400, 'passkey_invalid');
    const login = await passkeys.loginOptions();
    await expectApiError(passkeys.verifyRegistration(user.id, authenticator.register({ ...options, challenge: login.challenge })), 400, 'passkey_invalid');
  });

  it('refuses malformed responses with 400 passkey_invalid, never another error', async () => {
    const user = await createUser(app, 'passkey');
    const good = new SoftwareAuthenticator(ORIGIN).register(await passkeys.registrationOptions(user));
    const malformed: unknown[] = [
      {},
      { response: {} },
      { response: { clientDataJSON: '%%%' } },
      { ...good, response: { ...good.response, attestationObject: 'AAAA' } },
    ];
    for (const response of malformed) {
      await expectApiError(passkeys.verifyRegistration(user.id, response as RegistrationResponseJSON), 400, 'passkey_invalid');
    }
  });
});

describe('login', () => {
  it('with a discoverable passkey (no email): options without allowCredentials, requiring user verification', async () => {
    const { user, authenticator, view } = await userWithPasskey();
    const options = await passkeys.loginOptions();
    expect(options.allowCredentials).toBeUndefined();
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required', timeout: 300_000 });
    await expect(passkeys.verifyLogin(authenticator.login(options))).resolves.toEqual({ userId: user.id, passkeyId: view.id });
    const [listed] = await passkeys.list(user.id);
    expect(listed.lastUsedAt).not.toBeNull();
  });

  it("with an email (any case): that account's passkeys in allowCredentials", async () => {
    const { user, authenticator } = await userWithPasskey();
    const options = await passkeys.loginOptions(user.email.toUpperCase());
    expect(options.allowCredentials).toEqual([{ id: authenticator.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    await expect(passkeys.verifyLogin(authenticator.login(options))).resolves.toMatchObject({ userId: user.id });
  });

  it('answers an unknown email as an account without passkeys, and no passkey can answer either', async () => {
    const known = await createUser(app, 'passkey');
    const { authenticator } = await userWithPasskey();
    const unknownOptions = await passkeys.loginOptions(`nobody-${randomUUID()}@example.com`);
    const knownOptions = await passkeys.loginOptions(known.email);
    const shape = (options: object) => JSON.parse(JSON.stringify({ ...options, challenge: 'x' }));
    expect(shape(unknownOptions)).toEqual(shape(knownOptions));
    expect(unknownOptions.allowCredentials).toEqual([]);
    // An empty list lets a browser offer any passkey: the challenge still belongs to that address only.
    await expectApiError(passkeys.verifyLogin(authenticator.login(unknownOptions)), 401, 'passkey_invalid');
    await expectApiError(passkeys.verifyLogin(authenticator.login(knownOptions)), 401, 'passkey_invalid');
  });

  it("refuses another account's passkey on a challenge asked for an email", async () => {
    const alice = await userWithPasskey();
    const bob = await userWithPasskey();
    const options = await passkeys.loginOptions(bob.user.email);
    await expectApiError(passkeys.verifyLogin(alice.authenticator.login({ ...options, allowCredentials: [] })), 401, 'passkey_invalid');
  });

  it('refuses a counter that does not go up', async () => {
    const { authenticator } = await userWithPasskey();
    await expect(login(authenticator, undefined, { counter: 5 })).resolves.toBeDefined();
    await expectApiError(login(authenticator, undefined, { counter: 5 }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { counter: 3 }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { counter: 0 }), 401, 'passkey_invalid');
    await expect(login(authenticator, undefined, { counter: 6 })).resolves.toBeDefined();
  });

  it('accepts a counter that stays 0 (passkeys that sync do not count)', async () => {
    const { authenticator } = await userWithPasskey({ counterStep: 0, backedUp: true });
    await expect(login(authenticator)).resolves.toBeDefined();
    await expect(login(authenticator)).resolves.toBeDefined();
    expect(authenticator.counter).toBe(0);
  });

  it('refuses a challenge used twice: the same response, or a new signature over it', async () => {
    const { authenticator } = await userWithPasskey();
    const options = await passkeys.loginOptions();
    const response = authenticator.login(options);
    await passkeys.verifyLogin(response);
    await expectApiError(passkeys.verifyLogin(response), 401, 'passkey_invalid');
    await expectApiError(passkeys.verifyLogin(authenticator.login(options)), 401, 'passkey_invalid');
  });

  it('lets exactly one of two concurrent answers to one challenge through', async () => {
    const { authenticator } = await userWithPasskey();
    const options = await passkeys.loginOptions();
    const first = authenticator.login(options);
    const second = authenticator.login(options);
    const results = await Promise.allSettled([passkeys.verifyLogin(first), passkeys.verifyLogin(second)]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('counts one of two logins racing with responses of one counter value', async () => {
    const { authenticator } = await userWithPasskey();
    const [first, second] = [await passkeys.loginOptions(), await passkeys.loginOptions()];
    const responses = [authenticator.login(first, { counter: 7 }), authenticator.login(second, { counter: 7 })];
    const results = await Promise.allSettled(responses.map((response) => passkeys.verifyLogin(response)));
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('refuses an expired challenge (5 minutes)', async () => {
    const { authenticator } = await userWithPasskey();
    const early = await passkeys.loginOptions();
    const late = await passkeys.loginOptions();
    clock.advance(299_000);
    await expect(passkeys.verifyLogin(authenticator.login(early))).resolves.toBeDefined();
    clock.advance(1_000);
    await expectApiError(passkeys.verifyLogin(authenticator.login(late)), 401, 'passkey_invalid');
  });

  it('refuses a wrong origin, a wrong RP ID, a missing user verification, a challenge not ours, and a registration challenge', async () => {
    const { user, authenticator } = await userWithPasskey();
    await expectApiError(login(authenticator, undefined, { origin: 'https://evil.example' }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { origin: 'http://localhost:3001' }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { rpId: 'evil.example' }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { userVerified: false }), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { challenge: 'A'.repeat(43) }), 401, 'passkey_invalid');
    const registration = await passkeys.registrationOptions(user);
    await expectApiError(
      passkeys.verifyLogin(authenticator.login({ challenge: registration.challenge, rpId: 'localhost' })),
      401,
      'passkey_invalid',
    );
    await expect(login(authenticator)).resolves.toMatchObject({ userId: user.id }); // the passkey itself is fine
  });

  it('refuses an unknown credential, a user handle not its owner, and malformed responses', async () => {
    const { authenticator } = await userWithPasskey();
    const stranger = new SoftwareAuthenticator(ORIGIN);
    await expectApiError(login(stranger), 401, 'passkey_invalid');
    await expectApiError(login(authenticator, undefined, { userHandle: Buffer.alloc(16, 7).toString('base64url') }), 401, 'passkey_invalid');
    const good = authenticator.login(await passkeys.loginOptions());
    const malformed: unknown[] = [
      {},
      { response: null },
      { ...good, id: 42 },
      { ...good, response: { ...good.response, signature: 'AAAA' } },
      { ...good, response: { ...good.response, authenticatorData: '' } },
    ];
    for (const response of malformed) {
      await expectApiError(passkeys.verifyLogin(response as AuthenticationResponseJSON), 401, 'passkey_invalid');
    }
  });

  it('runs `complete` in the transaction that counts the use: if it fails, the counter is not moved', async () => {
    const { user, authenticator } = await userWithPasskey();
    await expect(
      passkeys.verifyLogin(authenticator.login(await passkeys.loginOptions(), { counter: 10 }), async () => {
        throw new Error('session could not be opened');
      }),
    ).rejects.toThrow('session could not be opened');
    await expect(
      passkeys.verifyLogin(authenticator.login(await passkeys.loginOptions(), { counter: 10 }), async (found) => `session of ${found.userId}`),
    ).resolves.toBe(`session of ${user.id}`);
  });
});

describe('list and remove', () => {
  it("lists a user's passkeys only, and removes one of the user's (404 not_found otherwise)", async () => {
    const alice = await userWithPasskey();
    clock.advance(1_000); // listed oldest first
    const second = new SoftwareAuthenticator(ORIGIN);
    const secondView = await passkeys.verifyRegistration(alice.user.id, second.register(await passkeys.registrationOptions(alice.user)), 'Phone');
    const bob = await userWithPasskey();
    expect((await passkeys.list(alice.user.id)).map((view) => view.name)).toEqual(['Laptop', 'Phone']);

    await expectApiError(passkeys.remove(bob.user.id, alice.view.id), 404, 'not_found');
    await expectApiError(passkeys.remove(alice.user.id, randomUUID()), 404, 'not_found');
    await passkeys.remove(alice.user.id, alice.view.id);
    expect(await passkeys.list(alice.user.id)).toEqual([secondView]);
    await expectApiError(login(alice.authenticator), 401, 'passkey_invalid');
    await expect(login(second)).resolves.toMatchObject({ userId: alice.user.id });
    await expect(login(bob.authenticator)).resolves.toMatchObject({ userId: bob.user.id });
  });
});

describe('several instances', () => {
  it(
    usingPostgres()
      ? 'finishes on one instance the ceremonies begun on another (two apps on one PostgreSQL database)'
      : 'finishes after a restart the ceremonies begun before it (PGlite serves one instance)',
    async () => {
      const database = await createTestDatabase();
      let first: TestApp | undefined = await startApp({}, database);
      let second: TestApp | undefined;
      try {
        const user: User = await createUser(first, 'instances');
        const authenticator = new SoftwareAuthenticator(ORIGIN);
        const registration = await first.app.get(PasskeysService).registrationOptions(user);
        if (!usingPostgres()) {
          await first.stop();
          first = undefined;
        }
        second = await startApp({}, database);
        const onSecond = second.app.get(PasskeysService);
        await onSecond.verifyRegistration(user.id, authenticator.register(registration));

        const loginOptions = await onSecond.loginOptions(user.email);
        if (first) {
          await expect(first.app.get(PasskeysService).verifyLogin(authenticator.login(loginOptions))).resolves.toMatchObject({ userId: user.id });
          // Spent on the first instance: the second refuses it.
          await expectApiError(onSecond.verifyLogin(authenticator.login(loginOptions)), 401, 'passkey_invalid');
        } else {
          await second.stop();
          second = await startApp({}, database);
          await expect(second.app.get(PasskeysService).verifyLogin(authenticator.login(loginOptions))).resolves.toMatchObject({ userId: user.id });
        }
      } finally {
        await second?.stop();
        await first?.stop();
        await database.drop();
      }
    },
  );
});
