import { describe, expect, it } from 'vitest';
import { canonicalJson, chainProblem, eventHash, GENESIS_HASH, nextSeq, piiDigest, type StoredEvent } from './audit-chain';
import { decodeCursor, encodeCursor } from './dto/audit-events.query';

const SALT = '00112233445566778899aabbccddeeff';

function event(overrides: Partial<StoredEvent> = {}): StoredEvent {
  const base: StoredEvent = {
    id: '6f1c2a4e-8b0d-4c8e-9a51-2f0e6c1d7b3a',
    seq: '1',
    type: 'user.login_succeeded',
    userId: '0b7e3c52-47a4-4f36-9f1c-5a3e0d2b8c11',
    actorId: '0b7e3c52-47a4-4f36-9f1c-5a3e0d2b8c11',
    requestId: 'req-1',
    createdAt: new Date('2026-11-29T10:00:00.123Z'),
    data: { sessionId: 'a5f0e1f2-3b4c-4d5e-8f60-718293a4b5c6', roles: ['user'] },
    ip: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    piiSalt: SALT,
    piiDigest: piiDigest(SALT, '203.0.113.7', 'curl/8.5.0'),
    prevHash: GENESIS_HASH,
    hash: '',
    ...overrides,
  };
  return { ...base, hash: overrides.hash ?? eventHash(base) };
}

const noneDeleted = () => false;

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives one text whatever order the keys come in (jsonb gives them back in its own order)', () => {
    const forward = canonicalJson({ sessionId: 's', roles: ['user', 'admin'], count: 2 });
    const backward = canonicalJson(JSON.parse('{"count":2,"roles":["user","admin"],"sessionId":"s"}'));
    expect(backward).toBe(forward);
  });

  it('writes a number as JSON does, so that its jsonb round trip reads the same', () => {
    // jsonb prints 1e21 as 1000000000000000000000 and 1e-7 as 0.0000001: JSON.parse gives back the same doubles.
    for (const [stored, value] of [['1000000000000000000000', 1e21], ['0.0000001', 1e-7], ['1.0', 1], ['-0', 0]] as const) {
      expect(canonicalJson(JSON.parse(stored))).toBe(canonicalJson(value));
    }
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });

  it('escapes text as JSON does: a key or value cannot forge structure', () => {
    expect(canonicalJson({ 'a":1,"b': 'x"y' })).toBe('{"a\\":1,\\"b":"x\\"y"}');
    expect(canonicalJson(['a', 'b'])).not.toBe(canonicalJson(['a","b']));
  });
});

describe('eventHash', () => {
  // Computed apart from this code, with Python: json.dumps(value, separators=(',', ':'), sort_keys=True,
  // ensure_ascii=False) and hashlib.sha256, so that a SIEM or an auditor can check a chain with any language.
  it('is a fixed value for a fixed event (the format is a stored contract: changing it breaks every chain)', () => {
    expect(piiDigest(SALT, '203.0.113.7', 'curl/8.5.0')).toBe('f90c07056d687bf95eaeef41cedf3618b2d54d8a80ac9eeb46cd23e35a461ea9');
    expect(event().hash).toBe('c86047ea1cc87e4ee8272e98d259a5102eb092478ff5f2e360c96b0071e4df45');
  });

  it('changes with every column it covers', () => {
    const original = event();
    const changes: Array<Partial<StoredEvent>> = [
      { id: '6f1c2a4e-8b0d-4c8e-9a51-2f0e6c1d7b3b' },
      { seq: '2' },
      { type: 'user.login_failed' },
      { userId: null },
      { actorId: null },
      { requestId: 'req-2' },
      { requestId: null },
      { createdAt: new Date('2026-11-29T10:00:00.124Z') },
      { data: { sessionId: 'a5f0e1f2-3b4c-4d5e-8f60-718293a4b5c6', roles: ['user', 'admin'] } },
      { data: {} },
      { piiDigest: piiDigest(SALT, '203.0.113.8', 'curl/8.5.0') },
      { prevHash: '1'.repeat(64) },
    ];
    const hashes = changes.map((change) => eventHash({ ...original, ...change }));
    for (const hash of hashes) expect(hash).not.toBe(original.hash);
    expect(new Set(hashes).size).toBe(changes.length);
  });

  it('does not tell a null from the text "null", nor move a value from one column to the next', () => {
    expect(eventHash({ ...event(), requestId: null })).not.toBe(eventHash({ ...event(), requestId: 'null' }));
    expect(eventHash({ ...event(), userId: 'x', actorId: null })).not.toBe(eventHash({ ...event(), userId: null, actorId: 'x' }));
  });
});

describe('piiDigest', () => {
  it('covers the salt, the IP and the user agent, each in its place', () => {
    const digest = piiDigest(SALT, '203.0.113.7', 'curl');
    expect(piiDigest(SALT.replace('0', '1'), '203.0.113.7', 'curl')).not.toBe(digest);
    expect(piiDigest(SALT, '203.0.113.8', 'curl')).not.toBe(digest);
    expect(piiDigest(SALT, '203.0.113.7', 'curl2')).not.toBe(digest);
    expect(piiDigest(SALT, 'curl', '203.0.113.7')).not.toBe(digest);
    expect(piiDigest(SALT, null, null)).not.toBe(piiDigest(SALT, 'null', null));
  });
});

describe('chainProblem', () => {
  const first = event();
  const second = event({ id: '7a1c2a4e-8b0d-4c8e-9a51-2f0e6c1d7b3a', seq: '2', prevHash: first.hash, type: 'session.logout' });

  it('accepts a chain as written', () => {
    expect(chainProblem(first, { seq: '0', hash: GENESIS_HASH }, noneDeleted)).toBeUndefined();
    expect(chainProblem(second, { seq: first.seq, hash: first.hash }, noneDeleted)).toBeUndefined();
  });

  it('finds a changed column, a changed stored hash and a changed IP or user agent', () => {
    const start = { seq: '0', hash: GENESIS_HASH };
    expect(chainProblem({ ...first, data: { sessionId: 'other' } }, start, noneDeleted)).toBe('its content was changed');
    expect(chainProblem({ ...first, type: 'user.registered' }, start, noneDeleted)).toBe('its content was changed');
    expect(chainProblem({ ...first, hash: '0'.repeat(64) }, start, noneDeleted)).toBe('its content was changed');
    expect(chainProblem({ ...first, ip: '198.51.100.1' }, start, noneDeleted)).toBe('its IP or user agent was changed');
    expect(chainProblem({ ...first, userAgent: null }, start, noneDeleted)).toBe('its IP or user agent was changed');
  });

  it('finds a missing event before a row, and a row that follows another hash', () => {
    expect(chainProblem(second, { seq: '0', hash: GENESIS_HASH }, noneDeleted)).toBe('an event is missing before it');
    expect(chainProblem(second, { seq: '1', hash: GENESIS_HASH }, noneDeleted)).toBe('it does not follow the event before it');
  });

  it('accepts a redacted row (no IP, user agent or salt) only when its user was deleted', () => {
    const redacted = { ...first, ip: null, userAgent: null, piiSalt: null };
    const start = { seq: '0', hash: GENESIS_HASH };
    expect(chainProblem(redacted, start, (userId) => userId === first.userId)).toBeUndefined();
    expect(chainProblem(redacted, start, noneDeleted)).toBe('it was redacted, but its user was not deleted');
    expect(chainProblem({ ...redacted, ip: '203.0.113.7' }, start, () => true)).toBe('its IP or user agent was changed');
  });
});

describe('nextSeq and the cursor', () => {
  it('counts past 2^53 exactly', () => {
    expect(nextSeq('0')).toBe('1');
    expect(nextSeq('9007199254740992')).toBe('9007199254740993');
  });

  it('round-trips a seq and refuses what encodeCursor never makes', () => {
    for (const seq of ['1', '42', '9223372036854775807']) expect(decodeCursor(encodeCursor(seq))).toBe(seq);
    const refused = ['', '!!!', 'MA', encodeCursor('0'), encodeCursor('-1'), encodeCursor('01'), encodeCursor('abc'), encodeCursor('9223372036854775808'), `${encodeCursor('42')}=`, 'NDJ'];
    for (const cursor of refused) expect(decodeCursor(cursor), cursor).toBeUndefined();
  });
});
