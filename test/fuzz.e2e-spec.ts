import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import request from 'supertest';
import { GOOD_PASSWORD, register, Registered, uniqueEmail } from './support/api';
import { startApp, TestApp } from './support/test-app';

/**
 * Property-based fuzzing of every route of the contract against one running service.
 * Whatever a client sends, the service answers below 500, every error is the contract's
 * JSON body with a `code`, and no response echoes a secret or a NUL byte planted in the
 * request. Afterwards the process is alive and still serves a normal register and login.
 */

// Markers planted in request bodies. PASSWORD_MARK sits in fields no response may ever
// show (passwords, refresh tokens, raw bodies); ECHO_MARK sits in email/displayName,
// which a successful response legitimately shows, but an error body never may.
const PASSWORD_MARK = `pwsecret${randomBytes(8).toString('hex')}`;
const ECHO_MARK = `echomark${randomBytes(8).toString('hex')}`;
const NUL_MARK = `nulmark${randomBytes(8).toString('hex')}`;
const NUL_STRING = `\u0000${NUL_MARK}\u0000`;

const ADMIN_EMAIL = `fuzz-admin.${process.pid}@example.com`;
const ADMIN_PASSWORD = `fuzz admin ${randomBytes(6).toString('hex')} passphrase`;

const RUNS = 120;

type Method = 'get' | 'post' | 'patch' | 'delete';
type TokenMode = 'none' | 'user' | 'admin' | 'garbage';

interface Route {
  method: Method;
  path: (id: string) => string;
  keys: string[];
}

/** Every route of ../shared/API.md (the docs and JWKS routes have no body or id to fuzz). */
const ROUTES: Route[] = (
  [
    ['post', '/auth/register', ['email', 'password', 'displayName']],
    ['post', '/auth/login', ['email', 'password']],
    ['post', '/auth/refresh', ['refreshToken']],
    ['post', '/auth/logout', ['refreshToken']],
    ['post', '/auth/logout-all', []],
    ['get', '/auth/sessions', []],
    ['delete', '/auth/sessions/:id', []],
    ['get', '/users/me', []],
    ['patch', '/users/me', ['displayName']],
    ['post', '/users/me/password', ['currentPassword', 'newPassword']],
    ['get', '/users', []],
    ['patch', '/users/:id/roles', ['roles']],
    ['post', '/auth/email/verify', ['token']],
    ['post', '/auth/email/verify/resend', ['email']],
    ['post', '/auth/password/forgot', ['email']],
    ['post', '/auth/password/reset', ['token', 'newPassword']],
    ['post', '/users/me/email', ['newEmail', 'currentPassword']],
    ['post', '/users/me/email/confirm', ['token']],
    ['get', '/health', []],
  ] as Array<[Method, string, string[]]>
).map(([method, template, keys]) => ({
  method,
  path: (id: string) => template.replace(':id', id),
  keys,
  // How fast-check prints the route in a counterexample.
  [fc.toStringMethod]: () => `${method.toUpperCase()} ${template}`,
}));
const ALL_KEYS = [...new Set(ROUTES.flatMap((route) => route.keys))];

let app: TestApp;
let user: Registered;
let adminToken: string;
const ids: string[] = [];

const CONTENT_TYPES: Array<string | undefined> = [
  undefined, // no Content-Type header at all
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/jsonx',
  'application/vnd.api+json',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=----fuzz',
  'application/xml',
  'application/octet-stream',
  '*/*',
  ';',
  'garbage',
  '/',
  'application/',
];

const printableAscii = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const contentTypeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: printableAscii.map((text) => text.trim()).filter((text) => text.length > 0) },
);

const tokenModeArb = fc.constantFrom<TokenMode>('none', 'user', 'admin', 'garbage');

const loneSurrogate = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83db', '\ude00x');

/**
 * Strings that hunt for trouble; each carries `mark` so an echo is detectable. Lone
 * surrogates in an email have a property of their own below (they break IsEmail).
 */
function nastyString(mark: string, { loneSurrogates = true } = {}) {
  return fc.oneof(
    fc.string().map((text) => `${text}${mark}`),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((text) => `${mark}${text}`),
    fc.string({ unit: 'binary', maxLength: 30 }).map((text) => `${text}${mark}`),
    fc.constant(NUL_STRING),
    fc.tuple(fc.string({ maxLength: 10 }), fc.constant(NUL_STRING)).map(([a, b]) => `${a}${b}${mark}`),
    fc.tuple(loneSurrogates ? loneSurrogate : fc.constant('\u{1F600}'), fc.string({ maxLength: 10 })).map(([s, text]) => `${mark}${s}${text}${s}`),
    fc.integer({ min: 1_000, max: 20 * 1024 }).map((n) => `${mark}${'x'.repeat(n)}`),
    fc.integer({ min: 120, max: 1100 }).map((n) => `${mark}${'é'.repeat(n)}`),
    fc.constantFrom(
      `${mark}@example.com`,
      `${mark}.${process.pid}@example.com`,
      `${mark} correct horse battery staple`,
      `rt_${mark}`,
      `${mark}\r\n\t`,
      `  ${mark}  `,
      `${mark}${'\u00a0'}`,
      `${mark}\u2028\u2029`,
    ),
  );
}

/** Where the key says a response may show it, the echo marker; elsewhere the never-shown one. */
function markFor(key: string): string {
  return key === 'email' || key === 'displayName' ? ECHO_MARK : PASSWORD_MARK;
}

/** A well-typed, plausible value, so that requests also get past validation and succeed. */
function plausibleValue(key: string): fc.Arbitrary<unknown> {
  switch (key) {
    case 'email':
      return fc.oneof(
        fc.constant(user.email),
        fc.constant(ADMIN_EMAIL.toUpperCase()),
        fc.nat().map((n) => ` ${ECHO_MARK}.${n}@Example.com `),
      );
    case 'password':
    case 'currentPassword':
    case 'newPassword':
      return fc.oneof(
        fc.string({ maxLength: 20 }).map((text) => `${PASSWORD_MARK} ${text}`),
        fc.constant(GOOD_PASSWORD),
        fc.string({ unit: 'grapheme', maxLength: 100 }).map((text) => `${text}${PASSWORD_MARK}`),
      );
    case 'refreshToken':
      return fc.oneof(
        fc.constant(`rt_${PASSWORD_MARK}`),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `rt_${Buffer.from(bytes).toString('base64url')}`),
        fc.constant(user.accessToken),
      );
    case 'roles':
      return fc.subarray(['user', 'admin']);
    default:
      return fc.oneof(fc.string({ maxLength: 100 }).map((text) => `${ECHO_MARK}${text}`), fc.constant(null));
  }
}

/** A value of the wrong type (or of the right type but hostile) for a DTO field. */
function fieldValue(key: string) {
  return fc.oneof(
    { arbitrary: plausibleValue(key), weight: 8 },
    fc.constant(undefined), // the key left out
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    fc.constantFrom({ $ne: null }, { $gt: '' }, { toString: 'x' }, JSON.parse('{"__proto__":{"admin":true}}'), [markFor(key)], ['user', 'admin'], ['admin'], ['root'], []),
    nastyString(markFor(key), { loneSurrogates: key !== 'email' }),
    fc.array(nastyString(markFor(key)), { maxLength: 3 }),
  );
}

/**
 * Deeply nested JSON, built as text: far deeper than any generator would go. Nesting
 * costs 1 to 12 bytes a level, so all of these stay under the 16 KiB body limit and
 * reach the route's validation.
 */
function deepJson(depth: number, shape: number, key: string): string {
  switch (shape) {
    case 0:
      return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    case 1:
      return `${'{"a":'.repeat(depth)}"${PASSWORD_MARK}"${'}'.repeat(depth)}`;
    case 2:
      return `{"${key}":${'['.repeat(depth)}"${PASSWORD_MARK}"${']'.repeat(depth)}}`;
    case 3:
      return `{"${key}":${'{"password":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    default:
      return `{"${key}":${'[{"a":'.repeat(depth)}"${PASSWORD_MARK}"${'}]'.repeat(depth)}}`;
  }
}
const MAX_DEPTH_BY_SHAPE = [7_900, 2_700, 7_500, 1_300, 2_200];
function deepJsonArb(minDepth: number, maxDepth: number) {
  return fc
    .tuple(fc.integer({ min: 0, max: MAX_DEPTH_BY_SHAPE.length - 1 }), fc.integer({ min: minDepth, max: maxDepth }), fc.constantFrom(...ALL_KEYS))
    .map(([shape, depth, key]) => deepJson(Math.min(depth, MAX_DEPTH_BY_SHAPE[shape]), shape, key));
}

/** JSON values whose strings are hostile (NUL, lone surrogates, huge, marked); keys stay printable ASCII. */
const { hostileJson } = fc.letrec((tie) => ({
  hostileJson: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.jsonValue({ maxDepth: 0 }), nastyString(PASSWORD_MARK)),
    fc.array(tie('hostileJson'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('hostileJson'), { maxKeys: 4 }),
  ),
}));

/** Raw request bodies: broken JSON, huge or hostile strings, not-JSON at all. */
const rawBodyArb: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.record({ email: nastyString(ECHO_MARK, { loneSurrogates: false }), password: nastyString(PASSWORD_MARK) }).map((body) => JSON.stringify(body)),
  deepJsonArb(1, 300),
  // Deep and never closed: refused by the parser, at any depth.
  fc.integer({ min: 1_000, max: 10_000 }).map((depth) => `{"password":${'['.repeat(depth)}"${PASSWORD_MARK}"`),
  fc.constantFrom(
    `{"email":"a@example.com","password":"${PASSWORD_MARK}"`, // truncated
    `{"email":"a@example.com","password":"${PASSWORD_MARK}",}`, // trailing comma
    `{'password':'${PASSWORD_MARK}'}`,
    `{"password":"${PASSWORD_MARK}\u0000${NUL_MARK}"}`, // a raw NUL inside a JSON string is invalid JSON
    `{"password":"\\u0000${NUL_MARK}${PASSWORD_MARK}"}`,
    `{"password":"\\ud800${PASSWORD_MARK}"}`,
    `{"password":"\\x41${PASSWORD_MARK}"}`,
    `{"__proto__":{"isAdmin":true},"password":"${PASSWORD_MARK}"}`,
    `{"constructor":{"prototype":{"x":1}},"password":"${PASSWORD_MARK}"}`,
    `{"password":"${PASSWORD_MARK}","password":"${PASSWORD_MARK}2"}`,
    `email=a%40example.com&password=${PASSWORD_MARK}`,
    `------fuzz\r\nContent-Disposition: form-data; name="password"\r\n\r\n${PASSWORD_MARK}\r\n------fuzz--\r\n`,
    `<password>${PASSWORD_MARK}</password>`,
    '',
    ' ',
    'null',
    'true',
    '0',
    '-0',
    '1e999',
    '"\\u0000"',
    '[]',
    '{}',
    `"${PASSWORD_MARK}"`,
    '\ufeff{}',
  ),
  fc.integer({ min: 1_000, max: 20 * 1024 }).map((n) => `{"password":"${PASSWORD_MARK}${'a'.repeat(n)}"}`),
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => `${text}${PASSWORD_MARK}`),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.concat([Buffer.from(bytes), Buffer.from(PASSWORD_MARK)])),
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0x70, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // {"p":"<WTF-8 lone surrogate>"}
    Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), // UTF-16LE with a BOM
    Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), // invalid UTF-8
    Buffer.from('\u0000\u0000\u0000'),
  ),
);

/** A path segment: anything, percent-encoded byte by byte (encodeURIComponent refuses lone surrogates). */
function encodeSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`))
    .join('');
}

/**
 * Well-formed path ids: any text, validly percent-encoded, within Fastify's 100-character
 * parameter limit. (Malformed escapes and over-long ids have a property of their own below.)
 */
const pathIdArb = fc.oneof(
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.constant('00000000-0000-0000-0000-000000000000'),
  fc.constant('ffffffff-ffff-ffff-ffff-ffffffffffff'),
  fc.constantFrom('__OWN0__', '__OWN1__', '__OWN2__'), // an existing user's or session's id
  fc.string().map(encodeSegment),
  fc.string({ unit: 'binary', maxLength: 8 }).map(encodeSegment),
  fc.integer().map(String),
  fc.constant(NUL_STRING).map(encodeSegment),
  fc.constantFrom(
    '%00',
    '%2F',
    '..',
    '%2e%2e',
    'a%20b',
    'a'.repeat(100),
    '00000000-0000-0000-0000-00000000000%00',
    '%7Bid%7D',
    ':id',
    '*',
  ),
);

/** Ids that are not valid URL components (a stray `%`, an escape that is not UTF-8) or over 100 characters. */
const badPathIdArb = fc.oneof(
  fc.constantFrom('%', '%zz', '%E', '%ED%A0%80', '%C3%28', '%FF', '%C0%AF', `${'a'.repeat(101)}`, 'a'.repeat(5000)),
  fc.tuple(fc.string({ maxLength: 10 }).map(encodeSegment), fc.constantFrom('%', '%zz', '%ED%A0%80', '%C3%28')).map(([text, bad]) => `${text}${bad}`),
  fc.integer({ min: 101, max: 2_000 }).map((n) => 'b'.repeat(n)),
);

const queryValueArb = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1.5', '1e3', '0x10', ' 1', '1 ', '+1', '', '01', '99999999999999999999', '2147483648', '2147483647', '100', '101', 'NaN', 'Infinity', '[object Object]', 'null', 'true'),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string().map((text) => encodeSegment(`${text}${PASSWORD_MARK}`)),
  fc.constant(encodeSegment(NUL_STRING)),
  fc.constantFrom('%', '%zz', '%ED%A0%80', '%00'),
);
const queryKeyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('page', 'limit') },
  { weight: 1, arbitrary: fc.constantFrom('page[]', 'limit[0]', 'page[a]', '__proto__', 'constructor', 'hasOwnProperty', 'toString', '', 'Page') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodeSegment) },
);
const queryStringArb = fc
  .array(fc.tuple(queryKeyArb, queryValueArb), { maxLength: 6 })
  .map((pairs) => pairs.map(([key, value]) => `${key}=${value}`).join('&'));

const garbageAuthArb = fc.oneof(
  printableAscii,
  printableAscii.map((text) => `Bearer ${text}`),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'bearer a.b.c',
    'Bearer a.b.c',
    'Bearer ..',
    'Basic dXNlcjpwYXNz',
    `Bearer ${'a'.repeat(9000)}.b.c`,
    `Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.`,
  ),
);

interface Sent {
  method: Method;
  path: string;
  token: TokenMode;
  auth?: string;
  contentType?: string;
  body?: string | Buffer;
}

async function send(sent: Sent) {
  let req = request(app.url)[sent.method](sent.path);
  const authorization =
    sent.token === 'user' ? `Bearer ${user.accessToken}` : sent.token === 'admin' ? `Bearer ${adminToken}` : sent.token === 'garbage' ? sent.auth : undefined;
  if (authorization !== undefined) req = req.set('Authorization', authorization);
  if (sent.contentType !== undefined) req = req.set('Content-Type', sent.contentType);
  if (sent.body !== undefined) {
    // A Buffer goes out byte for byte (the identity serializer stops superagent from
    // JSON-encoding it), and without a Content-Type unless one was set.
    req = req.serialize((data: unknown) => data as string).send(typeof sent.body === 'string' ? Buffer.from(sent.body, 'utf8') : sent.body);
  }
  return req;
}

/** The invariants every response must hold, whatever was sent. */
function checkResponse(response: request.Response, sent: Sent): void {
  const label = `${sent.method.toUpperCase()} ${sent.path.slice(0, 200)} (token ${sent.token}, content-type ${String(sent.contentType)})`;
  expect(response.status, label).toBeLessThan(500);
  const text = response.text ?? (response.body !== undefined ? JSON.stringify(response.body) : '');
  if (response.status >= 400) {
    expect(response.headers['content-type'], label).toMatch(/^application\/json/);
    const body = JSON.parse(text);
    expect(typeof body.code, `${label}: ${text}`).toBe('string');
    // The contract's codes are snake_case words (validation_failed, not_found, …), never a framework's internals.
    expect(body.code, `${label}: ${text}`).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(body.statusCode, label).toBe(response.status);
    expect(text, label).not.toContain(ECHO_MARK);
  }
  expect(text, label).not.toContain(PASSWORD_MARK);
  expect(text, label).not.toContain(NUL_MARK);
  expect(text, label).not.toContain('\u0000');
  expect(text, label).not.toContain('\\u0000');
  // Headers never echo the request either.
  const headers = JSON.stringify(response.headers);
  expect(headers, label).not.toContain(PASSWORD_MARK);
  expect(headers, label).not.toContain(ECHO_MARK);
}

/** `__OWN<n>__` stands for the n-th known id (the user's, the admin's, the user's session). */
function resolveId(id: string): string {
  const own = /^__OWN(\d)__$/.exec(id);
  return own ? ids[Number(own[1]) % ids.length] : id;
}

async function sendAndCheck(sent: Sent): Promise<void> {
  checkResponse(await send(sent), sent);
}

beforeAll(async () => {
  // Random wrong passwords for the admin's email would put it in per-account back-off (up
  // to a minute, tested in its own spec) and fail the last login below by chance.
  app = await startApp({ ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN_BACKOFF_THRESHOLD: '1000' });
  const admin = await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200);
  adminToken = admin.body.accessToken;
  expect(admin.body.user.roles).toContain('admin');
  user = await register(app);
  ids.push(user.user.id, admin.body.user.id);
  const sessions = await request(app.url).get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
  ids.push(...sessions.body.map((session: { id: string }) => session.id));
});

afterAll(async () => {
  await app?.close();
});

const routeArb = fc.constantFrom(...ROUTES);
const params = { numRuns: RUNS } as const;

describe('fuzzing every route', () => {
  it('any JSON value as the body: never a 5xx, always a coded JSON error, never an echo', async () => {
    const bodyArb = fc.oneof(
      fc.jsonValue(),
      hostileJson,
      // The value under a contract key (or an unknown one), carrying a marker.
      fc
        .tuple(fc.constantFrom(...ALL_KEYS, 'extra', 'isAdmin'), fc.jsonValue({ maxDepth: 3 }))
        .map(([key, value]) => ({ [key]: value, [key === 'password' ? 'newPassword' : 'password']: `${PASSWORD_MARK}` })),
    );
    await fc.assert(
      fc.asyncProperty(routeArb, bodyArb, tokenModeArb, garbageAuthArb, pathIdArb, async (route, value, token, auth, id) => {
        await sendAndCheck({
          method: route.method,
          path: route.path(resolveId(id)),
          token,
          auth,
          contentType: 'application/json',
          body: JSON.stringify(value),
        });
      }),
      params,
    );
  });

  it('the right keys with wrong-typed or hostile values', async () => {
    const caseArb = routeArb.chain((route) => {
      const keys = route.keys.length > 0 ? route.keys : ['password'];
      const record = fc.oneof(
        fc.record(Object.fromEntries(keys.map((key) => [key, fieldValue(key)]))),
        fc.record(Object.fromEntries(keys.map((key) => [key, plausibleValue(key)]))), // well-typed: reaches the service
      );
      return fc.tuple(fc.constant(route), record, tokenModeArb, garbageAuthArb);
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async ([route, body, token, auth]) => {
        await sendAndCheck({
          method: route.method,
          path: route.path(resolveId('__OWN0__')),
          token,
          auth,
          contentType: 'application/json',
          body: JSON.stringify(body),
        });
      }),
      params,
    );
  });

  it('raw, huge, nested (up to 300 levels), NUL-laden and non-UTF-8 bodies under any Content-Type', async () => {
    await fc.assert(
      fc.asyncProperty(routeArb, rawBodyArb, contentTypeArb, tokenModeArb, garbageAuthArb, async (route, body, contentType, token, auth) => {
        await sendAndCheck({ method: route.method, path: route.path(resolveId('__OWN0__')), token, auth, contentType, body });
      }),
      params,
    );
  });

  it('random path ids on DELETE /auth/sessions/:id and PATCH /users/:id/roles', async () => {
    const idRoutes = ROUTES.filter((route) => route.path('X') !== route.path('Y'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...idRoutes), pathIdArb, tokenModeArb, garbageAuthArb, async (route, id, token, auth) => {
        const body = route.keys.includes('roles') ? JSON.stringify({ roles: ['user'] }) : undefined;
        await sendAndCheck({
          method: route.method,
          path: route.path(resolveId(id)),
          token,
          auth,
          contentType: body ? 'application/json' : undefined,
          body,
        });
      }),
      params,
    );
  });

  it('random query strings on GET /users', async () => {
    await fc.assert(
      fc.asyncProperty(queryStringArb, fc.constantFrom<TokenMode>('admin', 'admin', 'user', 'none'), async (query, token) => {
        await sendAndCheck({ method: 'get', path: `/users?${query}`, token });
      }),
      params,
    );
  });

  it('unknown routes and methods, with a marker in the path and the query', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Method>('get', 'post', 'patch', 'delete'),
        fc.string({ maxLength: 20 }).map((text) => encodeSegment(`${text}${PASSWORD_MARK}`)),
        queryStringArb,
        tokenModeArb,
        async (method, segment, query, token) => {
          await sendAndCheck({ method, path: `/${segment}?password=${PASSWORD_MARK}&${query}`, token, auth: 'x' });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('fuzzing the parser and the router', () => {
  /** The routes whose body reaches a DTO (login's through LocalAuthGuard). */
  const bodyRoutes = ROUTES.filter((route) => route.keys.length > 0);

  // Nesting deeper than ~1,300 arrays (or ~2,400 objects) would overflow the stack in
  // class-transformer's plainToInstance; the JSON parser refuses depth over 32 (json-body.ts).
  it('deeply nested JSON (depth 1,000 to 7,900, under 16 KiB) gets a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...bodyRoutes),
        fc.integer({ min: 0, max: MAX_DEPTH_BY_SHAPE.length - 1 }),
        fc.integer({ min: 1_000, max: 7_900 }),
        fc.constantFrom(...ALL_KEYS),
        async (route, shape, depth, key) => {
          const token: TokenMode = route.path('x').startsWith('/auth/') ? 'none' : 'admin';
          const body = deepJson(Math.min(depth, MAX_DEPTH_BY_SHAPE[shape]), shape, key);
          await sendAndCheck({ method: route.method, path: route.path(resolveId('__OWN0__')), token, contentType: 'application/json', body });
        },
      ),
      { numRuns: 40 },
    );
  });

  // validator's isEmail measures the byte length with encodeURI, which throws a URIError
  // on a lone surrogate; the JSON parser refuses malformed Unicode (json-body.ts).
  it('a lone surrogate in any string field (JSON "\\ud800") gets a 4xx, never a 5xx', async () => {
    const caseArb = fc.constantFrom(...bodyRoutes).chain((route) =>
      fc.tuple(
        fc.constant(route),
        fc.record(Object.fromEntries(route.keys.map((key) => [key, plausibleValue(key)]))),
        fc.constantFrom(...route.keys),
        loneSurrogate,
        fc.nat(),
      ),
    );
    const registerRoute = bodyRoutes.find((route) => route.path('x') === '/auth/register')!;
    await fc.assert(
      fc.asyncProperty(caseArb, async ([route, body, key, surrogate, at]) => {
        const value = typeof body[key] === 'string' ? (body[key] as string) : '';
        const position = at % (value.length + 1);
        const sent = { ...body, [key]: `${value.slice(0, position)}${surrogate}${value.slice(position)}` };
        const token: TokenMode = route.path('x').startsWith('/auth/') ? 'none' : 'admin';
        await sendAndCheck({ method: route.method, path: route.path(resolveId('__OWN0__')), token, contentType: 'application/json', body: JSON.stringify(sent) });
      }),
      // The case the exploration found first, kept so that every run tries it.
      { numRuns: 60, examples: [[[registerRoute, { email: 'a@example.com', password: GOOD_PASSWORD }, 'email', '\ud800', 1]]] },
    );
  });

  // Fastify's router raises these before Nest (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH), with
  // messages that quote the URL; frameworkErrors (app.setup.ts) gives them the contract's body.
  it('a malformed percent-escape or an over-long id in the path gets a coded error that echoes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(routeArb, badPathIdArb, fc.boolean(), tokenModeArb, async (route, bad, inParam, token) => {
        const base = route.path('__ID__');
        const path = base.includes('__ID__') && inParam ? base.replace('__ID__', bad) : `${base.replace('__ID__', resolveId('__OWN0__'))}${bad}`;
        await sendAndCheck({ method: route.method, path: `${path}?password=${PASSWORD_MARK}`, token, auth: 'x' });
      }),
      { numRuns: 40 },
    );
  });
});

describe('after the fuzzing', () => {
  it('the process is alive and healthy: /health is 200, a normal register and login still work', async () => {
    const health = await request(app.url).get('/health').expect(200);
    expect(health.body.details.database.status).toBe('up');
    const email = uniqueEmail('after-fuzz');
    const registered = await request(app.url).post('/auth/register').send({ email, password: GOOD_PASSWORD }).expect(201);
    const login = await request(app.url).post('/auth/login').send({ email, password: GOOD_PASSWORD }).expect(200);
    expect(login.body.user.id).toBe(registered.body.user.id);
    await request(app.url).get('/users/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    await request(app.url).post('/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
    await request(app.url).post('/auth/login').send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).expect(200); // its roles may have been fuzzed
  });
});
