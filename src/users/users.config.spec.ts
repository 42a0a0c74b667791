import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { usersConfig } from './users.config';

isolateEnv(['BCRYPT_COST', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'PASSWORD_MIN_LENGTH', 'PASSWORD_REJECT_COMMON']);

describe('usersConfig', () => {
  it('defaults: cost 12, as many bcrypt operations at a time as cores, no admin, policy 8..128 rejecting common passwords', () => {
    expect(usersConfig()).toEqual({
      bcryptCost: 12,
      bcryptConcurrency: availableParallelism(),
      admin: undefined,
      passwordPolicy: { minLength: 8, maxLength: 128, rejectCommon: true },
    });
  });

  it('refuses BCRYPT_COST=9 with NODE_ENV=production, naming BCRYPT_COST', () => {
    process.env.NODE_ENV = 'production';
    process.env.BCRYPT_COST = '9';
    expect(configErrorOf(() => usersConfig()).message).toMatch(/^Invalid configuration: BCRYPT_COST /);
  });

  it('accepts BCRYPT_COST=10 with NODE_ENV=production', () => {
    process.env.NODE_ENV = 'production';
    process.env.BCRYPT_COST = '10';
    expect(usersConfig().bcryptCost).toBe(10);
  });

  it('accepts BCRYPT_COST=9 outside production', () => {
    process.env.BCRYPT_COST = '9';
    expect(usersConfig().bcryptCost).toBe(9);
  });

  it.each(['3', '16'])('refuses BCRYPT_COST=%s', (cost) => {
    process.env.BCRYPT_COST = cost;
    expect(configErrorOf(() => usersConfig()).message).toMatch(/^Invalid configuration: BCRYPT_COST /);
  });

  it('accepts the bounds 4 and 15', () => {
    process.env.BCRYPT_COST = '4';
    expect(usersConfig().bcryptCost).toBe(4);
    process.env.BCRYPT_COST = '15';
    expect(usersConfig().bcryptCost).toBe(15);
  });

  it('refuses ADMIN_EMAIL without ADMIN_PASSWORD, naming ADMIN_PASSWORD', () => {
    process.env.ADMIN_EMAIL = 'admin@example.com';
    expect(configErrorOf(() => usersConfig()).message).toMatch(/^Invalid configuration: ADMIN_PASSWORD /);
  });

  it('refuses ADMIN_PASSWORD without ADMIN_EMAIL, naming ADMIN_EMAIL', () => {
    process.env.ADMIN_PASSWORD = 'correct horse battery staple';
    expect(configErrorOf(() => usersConfig()).message).toMatch(/^Invalid configuration: ADMIN_EMAIL /);
  });

  it('treats a blank ADMIN_PASSWORD as missing', () => {
    process.env.ADMIN_EMAIL = 'admin@example.com';
    process.env.ADMIN_PASSWORD = '   ';
    expect(configErrorOf(() => usersConfig()).message).toContain('ADMIN_PASSWORD');
  });

  it('returns the admin when both are set', () => {
    process.env.ADMIN_EMAIL = 'admin@example.com';
    process.env.ADMIN_PASSWORD = 'correct horse battery staple';
    expect(usersConfig().admin).toEqual({ email: 'admin@example.com', password: 'correct horse battery staple' });
  });

  it('reads PASSWORD_MIN_LENGTH (at least 8) and PASSWORD_REJECT_COMMON', () => {
    process.env.PASSWORD_MIN_LENGTH = '12';
    process.env.PASSWORD_REJECT_COMMON = 'false';
    expect(usersConfig().passwordPolicy).toEqual({ minLength: 12, maxLength: 128, rejectCommon: false });
    process.env.PASSWORD_MIN_LENGTH = '7';
    expect(configErrorOf(() => usersConfig()).message).toContain('PASSWORD_MIN_LENGTH');
  });
});
