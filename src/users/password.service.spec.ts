import { beforeAll, describe, expect, it } from 'vitest';
import { PasswordService } from './password.service';
import type { UsersConfig } from './users.config';

function config(overrides: Partial<UsersConfig['passwordPolicy']> = {}): UsersConfig {
  return { bcryptCost: 4, bcryptConcurrency: 2, admin: undefined, passwordPolicy: { minLength: 8, maxLength: 128, rejectCommon: true, ...overrides } };
}

describe('PasswordService hashing', () => {
  const service = new PasswordService(config());

  beforeAll(() => service.onModuleInit());

  it('verifies the password it hashed, and refuses another one', async () => {
    const hash = await service.hash('correct horse battery staple');
    await expect(service.verify('correct horse battery staple', hash)).resolves.toBe(true);
    await expect(service.verify('correct horse battery stapler', hash)).resolves.toBe(false);
  });

  it('produces a bcrypt hash at the configured cost, never the password itself, salted', async () => {
    const password = 'correct horse battery staple';
    const hash = await service.hash(password);
    expect(hash).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(hash).not.toContain(password);
    expect(await service.hash(password)).not.toBe(hash);
  });

  it('tells apart two passwords that share their first 72 bytes', async () => {
    const prefix = 'a'.repeat(72);
    const first = `${prefix}first`;
    const second = `${prefix}second`;
    const hash = await service.hash(first);
    const otherHash = await service.hash(second);
    await expect(service.verify(first, hash)).resolves.toBe(true);
    await expect(service.verify(second, hash)).resolves.toBe(false);
    await expect(service.verify(first, otherHash)).resolves.toBe(false);
    await expect(service.verify(prefix, hash)).resolves.toBe(false);
  });

  it('normalises to NFKC: a ligature matches the hash of its plain letters, and back', async () => {
    const plain = 'financial office secret';
    const ligature = 'ﬁnancial oﬃce secret'; // U+FB01 "fi", U+FB03 "ffi"
    expect(ligature).not.toBe(plain);
    expect(ligature.normalize('NFKC')).toBe(plain);
    await expect(service.verify(ligature, await service.hash(plain))).resolves.toBe(true);
    await expect(service.verify(plain, await service.hash(ligature))).resolves.toBe(true);
  });

  it('normalises to NFKC: full-width letters match their ASCII form', async () => {
    const hash = await service.hash('Password-Zebra');
    await expect(service.verify('Ｐａｓｓｗｏｒｄ-Ｚｅｂｒａ', hash)).resolves.toBe(true);
  });

  it('normalises composed and decomposed accents alike', async () => {
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    await expect(service.verify(decomposed, await service.hash(composed))).resolves.toBe(true);
  });

  it('needsRehash: a hash made at another cost than the configured one, and only that', async () => {
    const atFive = new PasswordService({ ...config(), bcryptCost: 5 });
    const hashAtFour = await service.hash('correct horse battery staple');
    const hashAtFive = await atFive.hash('correct horse battery staple');
    expect(hashAtFive).toMatch(/^\$2b\$05\$/);
    expect(service.needsRehash(hashAtFour)).toBe(false);
    expect(service.needsRehash(hashAtFive)).toBe(true);
    expect(atFive.needsRehash(hashAtFour)).toBe(true);
    expect(atFive.needsRehash(hashAtFive)).toBe(false);
    // Both still verify under either configuration: the cost is read from the hash.
    await expect(atFive.verify('correct horse battery staple', hashAtFour)).resolves.toBe(true);
    await expect(service.verify('correct horse battery staple', hashAtFive)).resolves.toBe(true);
  });

  it('verifyDummy resolves false, whatever the password', async () => {
    await expect(service.verifyDummy('correct horse battery staple')).resolves.toBe(false);
    await expect(service.verifyDummy('')).resolves.toBe(false);
  });
});

describe('PasswordService.policyViolations', () => {
  const service = new PasswordService(config());

  it('refuses a password shorter than the minimum', () => {
    expect(service.policyViolations('short12')).toEqual(['password must be at least 8 characters long']);
  });

  it('names the field it is given', () => {
    expect(service.policyViolations('short', 'newPassword')).toEqual(['newPassword must be at least 8 characters long']);
  });

  it('accepts exactly the maximum of 128 characters and refuses 129', () => {
    const base = 'Zebra-Quartz-Lamp-';
    const long = base.repeat(8).slice(0, 128);
    expect(long).toHaveLength(128);
    expect(service.policyViolations(long)).toEqual([]);
    expect(service.policyViolations(`${long}x`)).toEqual(['password must be at most 128 characters long']);
  });

  it('counts characters (code points), not UTF-16 units', () => {
    const sevenEmoji = '🦓'.repeat(7); // .length is 14
    expect(sevenEmoji.length).toBe(14);
    expect(service.policyViolations(sevenEmoji)).toEqual(['password must be at least 8 characters long']);
    expect(service.policyViolations('🦓'.repeat(8))).toEqual([]);
  });

  it.each(['password123', 'PASSWORD123', 'Password123'])('refuses the common password %j in any letter case', (password) => {
    expect(service.policyViolations(password)).toEqual(['password is too common; choose a less predictable one']);
  });

  it('refuses a common password written with full-width characters (checked after NFKC)', () => {
    expect(service.policyViolations('ｐａｓｓｗｏｒｄ１２３')).toEqual(['password is too common; choose a less predictable one']);
  });

  it('accepts a good password', () => {
    expect(service.policyViolations('correct horse battery staple')).toEqual([]);
  });

  it('accepts a common password when rejectCommon is false', () => {
    const lenient = new PasswordService(config({ rejectCommon: false }));
    expect(lenient.policyViolations('password123')).toEqual([]);
    expect(lenient.policyViolations('short')).toEqual(['password must be at least 8 characters long']);
  });

  it('applies a raised minimum length', () => {
    const strict = new PasswordService(config({ minLength: 12 }));
    expect(strict.policyViolations('Zebra-Quartz')).toEqual([]);
    expect(strict.policyViolations('Zebra-Quart')).toEqual(['password must be at least 12 characters long']);
  });
});

describe('PasswordService concurrency', () => {
  it('runs at most bcryptConcurrency bcrypt operations at a time, queueing the rest', async () => {
    const service = new PasswordService({ ...config(), bcryptConcurrency: 1 });
    const hash = await service.hash('correct horse battery staple');
    const slots = (service as unknown as { bcryptSlots: { activeCount: number; pendingCount: number } }).bcryptSlots;
    const verifications = Array.from({ length: 4 }, () => service.verify('correct horse battery staple', hash));
    await new Promise((resolve) => setImmediate(resolve));
    expect(slots.activeCount).toBe(1);
    expect(slots.pendingCount).toBe(3);
    expect(await Promise.all(verifications)).toEqual([true, true, true, true]);
  });
});
