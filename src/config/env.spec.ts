import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { ConfigError, env } from './env';

const VARIABLE = 'ENV_SPEC_VALUE';
isolateEnv([VARIABLE]);

describe('env.int', () => {
  const range = { min: 4, max: 15 };

  it('returns the fallback when the variable is unset', () => {
    expect(env.int(VARIABLE, 12, range)).toBe(12);
  });

  it('parses a whole number within the range, bounds included', () => {
    process.env[VARIABLE] = '9';
    expect(env.int(VARIABLE, 12, range)).toBe(9);
    process.env[VARIABLE] = '4';
    expect(env.int(VARIABLE, 12, range)).toBe(4);
    process.env[VARIABLE] = '15';
    expect(env.int(VARIABLE, 12, range)).toBe(15);
  });

  it('refuses a number outside the range with a ConfigError naming the variable', () => {
    process.env[VARIABLE] = '16';
    const high = configErrorOf(() => env.int(VARIABLE, 12, range));
    expect(high.message).toContain(VARIABLE);
    expect(high.message).toContain('between 4 and 15');
    expect(high.name).toBe('ConfigError');

    process.env[VARIABLE] = '3';
    expect(configErrorOf(() => env.int(VARIABLE, 12, range)).message).toContain(VARIABLE);
  });

  it.each(['abc', '12abc', '1.5', '-5', '1e3', '0x10'])('refuses the non-whole-number %j naming the variable', (value) => {
    process.env[VARIABLE] = value;
    const error = configErrorOf(() => env.int(VARIABLE, 12, range));
    expect(error.message).toContain(VARIABLE);
    expect(error.message).toContain('whole number');
  });
});

describe('env.boolean', () => {
  it('returns the fallback when unset', () => {
    expect(env.boolean(VARIABLE, true)).toBe(true);
    expect(env.boolean(VARIABLE, false)).toBe(false);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['false', false],
    ['False', false],
    ['0', false],
  ])('reads %j as %s', (value, expected) => {
    process.env[VARIABLE] = value;
    expect(env.boolean(VARIABLE, !expected)).toBe(expected);
  });

  it('refuses anything else with a ConfigError naming the variable', () => {
    process.env[VARIABLE] = 'yes';
    expect(configErrorOf(() => env.boolean(VARIABLE, true)).message).toContain(VARIABLE);
  });
});

describe('env.durationSeconds', () => {
  it.each([
    ['900', 900],
    ['30s', 30],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
  ])('reads %j as %i seconds', (value, seconds) => {
    process.env[VARIABLE] = value;
    expect(env.durationSeconds(VARIABLE, '1s')).toBe(seconds);
  });

  it('uses the fallback, parsed the same way, when unset', () => {
    expect(env.durationSeconds(VARIABLE, '30d')).toBe(30 * 86400);
  });

  it.each(['0', '0m', '-5', '15x', 'abc', '1.5h', 'm'])('refuses %j with a ConfigError naming the variable', (value) => {
    process.env[VARIABLE] = value;
    const error = configErrorOf(() => env.durationSeconds(VARIABLE, '15m'));
    expect(error.message).toContain(VARIABLE);
    expect(error.message).toContain(`"${value}"`);
  });

  it('refuses a duration too large to be a safe integer', () => {
    process.env[VARIABLE] = '99999999999999999999d';
    expect(configErrorOf(() => env.durationSeconds(VARIABLE, '15m')).message).toContain(VARIABLE);
  });
});

describe('env.list', () => {
  it('splits on commas, trims items and drops empty ones', () => {
    process.env[VARIABLE] = ' https://a.example , https://b.example,, ,https://c.example ';
    expect(env.list(VARIABLE)).toEqual(['https://a.example', 'https://b.example', 'https://c.example']);
  });

  it('is empty when unset', () => {
    expect(env.list(VARIABLE)).toEqual([]);
  });
});

describe('empty and whitespace-only values count as unset', () => {
  it.each(['', '   ', '\t\n'])('%j', (value) => {
    process.env[VARIABLE] = value;
    expect(env.optional(VARIABLE)).toBeUndefined();
    expect(env.string(VARIABLE, 'fallback')).toBe('fallback');
    expect(env.int(VARIABLE, 7, { min: 1, max: 10 })).toBe(7);
    expect(env.boolean(VARIABLE, true)).toBe(true);
    expect(env.durationSeconds(VARIABLE, '15m')).toBe(900);
    expect(env.list(VARIABLE)).toEqual([]);
  });

  it('a set value is trimmed', () => {
    process.env[VARIABLE] = '  value  ';
    expect(env.optional(VARIABLE)).toBe('value');
    expect(env.string(VARIABLE, 'fallback')).toBe('value');
  });

  it('NODE_ENV=production (with surrounding spaces) is production; anything else is not', () => {
    process.env.NODE_ENV = ' production ';
    expect(env.isProduction()).toBe(true);
    process.env.NODE_ENV = 'development';
    expect(env.isProduction()).toBe(false);
    delete process.env.NODE_ENV;
    expect(env.isProduction()).toBe(false);
  });
});
