import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, MaxLength, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * The one normal form of an email address, used to store, look up and key counters:
 * NFKC (so a full-width or ligature spelling is the same address), trimmed, lower-cased.
 * NFKC again after lower-casing: a lower-case letter may compose with a following mark
 * where its capital did not (`H` + U+0331 stays two code points, `h` + U+0331 is `ẖ`), and
 * the stored form must normalise to itself, or the address it shows would not log in.
 */
export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

/**
 * Characters no address should carry: controls, format characters (bidi overrides and
 * isolates, zero-width joiners and spaces), other default-ignorable code points (Hangul
 * fillers, variation selectors) and any white space. Each makes two addresses that look
 * alike, or hides part of one (UTS #39, RFC 8264's IdentifierClass excludes them all).
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{White_Space}\p{Co}\p{Cn}]/u;

/** Scripts told apart per label; letters of any other script count as one more script. */
const SCRIPTS = [
  'Latin', 'Cyrillic', 'Greek', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Devanagari',
  'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao',
  'Tibetan', 'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Cherokee', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Bopomofo',
].map((name) => ({ name, pattern: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }));

/**
 * The mixes UTS #39 allows in one label ("Highly Restrictive", section 5.2): Latin and Han
 * with the Japanese kana, with Hangul, or with Bopomofo.
 */
const ALLOWED_MIXES = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Hangul']),
  new Set(['Latin', 'Han', 'Bopomofo']),
];

/**
 * The scripts a letter may belong to, by its Script_Extensions: the Japanese long-vowel
 * mark `ー` is Common by Script, but Hiragana or Katakana by extension, so that `ラーメン`
 * is one script. A letter of no listed script (Common ones included) is `Other`.
 */
function scriptsOf(letter: string): string[] {
  const scripts = SCRIPTS.filter((script) => script.pattern.test(letter)).map((script) => script.name);
  return scripts.length > 0 ? scripts : ['Other'];
}

/** True when one label (a dot-, plus- or hyphen-separated part) mixes scripts, as `pаypal` with a Cyrillic `а` does. */
function mixesScripts(address: string): boolean {
  return address.split(/[@.+\-_]/).some((label) => {
    // Digits, marks and punctuation belong to no script here.
    const letters = [...label].filter((character) => /\p{L}/u.test(character)).map(scriptsOf);
    if (letters.length === 0) return false;
    // Fine when one script, or one allowed mix, covers every letter (UTS #39's resolved script set).
    const candidates = [...[...new Set(letters.flat())].map((script) => new Set([script])), ...ALLOWED_MIXES];
    return !candidates.some((allowed) => letters.every((scripts) => scripts.some((script) => allowed.has(script))));
  });
}

/** Why an (already normalised) address is refused, or undefined when it is acceptable. */
export function emailProblem(address: string): string | undefined {
  if (HIDDEN.test(address)) return 'must not contain invisible, bidirectional or control characters';
  if (mixesScripts(address)) return 'must not mix scripts within one part (such as a Cyrillic letter in a Latin word)';
  return undefined;
}

/** Normalises a string field with normaliseEmail(); anything else is left for the validators to reject. */
export const NormaliseEmail = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normaliseEmail(value) : value));

/** Refuses the look-alike tricks of emailProblem(), never echoing the value. */
export const IsSafeEmail = (property = 'email', options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isSafeEmail',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && emailProblem(value) === undefined,
        defaultMessage: (args) => `${property} ${emailProblem(String(args?.value ?? '')) ?? 'is not acceptable'}`,
      },
    },
    options,
  );

/**
 * An email field where an account is named for the first time (register, email change):
 * normalised, at most 254 characters, safe, and an address. Put `@IsString()` below it:
 * rules run bottom-up, stopping at the first failure.
 */
export function IsEmailAddress(property = 'email', options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    NormaliseEmail(),
    MaxLength(254, options),
    IsSafeEmail(property, options),
    IsEmail({}, { message: `${property} must be an email address`, ...options }),
  );
}
