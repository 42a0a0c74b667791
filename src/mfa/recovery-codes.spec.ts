import { describe, expect, it } from 'vitest';
import { newRecoveryCode, normaliseRecoveryCode } from './recovery-codes';

describe('recovery codes', () => {
  it('are 10 characters of Crockford base32 (50 bits) in two groups, every symbol in use', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const code = newRecoveryCode();
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
      for (const c of code.replace('-', '')) seen.add(c);
    }
    expect(seen.size).toBe(32);
  });

  it('are read leniently: case, hyphen and spaces ignored, i and l as 1, o as 0', () => {
    expect(normaliseRecoveryCode('ab1c0-dx9yz')).toBe('ab1c0dx9yz');
    expect(normaliseRecoveryCode(' AB1C0 DX9YZ ')).toBe('ab1c0dx9yz');
    expect(normaliseRecoveryCode('abIcO-dx9yz')).toBe('ab1c0dx9yz');
    expect(normaliseRecoveryCode('ablco-dx9yz')).toBe('ab1c0dx9yz');
  });

  it('refuse what cannot be a code', () => {
    for (const input of ['', 'ab1c0-dx9y', 'ab1c0-dx9yzz', 'ab1c0-dx9yu', 'ab1c0_dx9yz', 'ab1c0-dx9y!']) {
      expect(normaliseRecoveryCode(input)).toBeUndefined();
    }
  });
});
