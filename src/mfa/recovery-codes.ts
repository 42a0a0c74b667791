import { randomInt } from 'node:crypto';

/**
 * Recovery codes: 10 characters of Crockford's base32 (5 bits each, 50 bits a code), shown
 * as `xxxxx-xxxxx`. The alphabet has no i, l, o or u; what a person types is read
 * leniently: any case, with or without the hyphen and spaces, i and l as 1, o as 0.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const LENGTH = 10;
export const RECOVERY_CODE_COUNT = 10;

export function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The code in its stored form (10 characters, no hyphen), or undefined when it cannot be one. */
export function normaliseRecoveryCode(input: string): string | undefined {
  const code = input
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  return code.length === LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}
