import 'reflect-metadata';
import { IsString } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error';
import { emailProblem, IsEmailAddress, IsSafeEmail, normaliseEmail, NormaliseEmail } from './email';
import { createValidationPipe } from './validation';

class RegisterLike {
  @IsEmailAddress()
  @IsString()
  email: string;
}

class LoginLike {
  @NormaliseEmail()
  @IsSafeEmail()
  @IsString()
  email: string;
}

/** Runs the app's validation pipe on `{ email }`: the normalised value, or the messages of its 400. */
async function validate(dto: new () => { email: string }, email: string): Promise<{ email?: string; messages?: string[] }> {
  try {
    const result = (await createValidationPipe().transform({ email }, { type: 'body', metatype: dto })) as { email: string };
    return { email: result.email };
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const body = (error as ApiError).getResponse() as { code: string; message: string[] };
    expect(body.code).toBe('validation_failed');
    return { messages: body.message };
  }
}

describe('normaliseEmail', () => {
  it('trims, lower-cases and folds compatibility spellings (NFKC) to one form', () => {
    expect(normaliseEmail('  Ada@Example.COM ')).toBe('ada@example.com');
    expect(normaliseEmail('ＡＤＡ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('ada@example.com'); // full-width
    expect(normaliseEmail('ﬁnance@example.com')).toBe('finance@example.com'); // the "ﬁ" ligature
    expect(normaliseEmail('e\u0301cole@example.com')).toBe('\u00e9cole@example.com'); // decomposed é composed
    expect(normaliseEmail('\u3000ada@example.com\u3000')).toBe('ada@example.com'); // ideographic spaces
  });

  it('gives a form that normalises to itself, also where lower-casing makes a letter compose with its mark', () => {
    // H + U+0331 has no composed form; h + U+0331 is U+1E96. Lower-casing after NFKC alone left it decomposed.
    const once = normaliseEmail('H\u0331@example.com');
    expect(once).toBe('\u1e96@example.com');
    expect(normaliseEmail(once)).toBe(once);
    expect(normaliseEmail('\u1e96@example.com')).toBe(once);
  });

  it('is idempotent on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 40 }), (value) => {
        const once = normaliseEmail(value);
        expect(normaliseEmail(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('emailProblem', () => {
  it.each([
    ['a zero-width space', 'ada\u200b@example.com'],
    ['a zero-width joiner', 'ada\u200d@example.com'],
    ['a zero-width non-joiner in the domain', 'ada@exam\u200cple.com'],
    ['a right-to-left override', 'ada\u202e@example.com'],
    ['a bidi isolate', 'ada\u2066@example.com'],
    ['a control character', 'ada\u0007@example.com'],
    ['a NUL', 'ada\u0000@example.com'],
    ['a Hangul filler', 'ada\u3164@example.com'],
    ['a variation selector', 'ada\ufe0f@example.com'],
    ['a soft hyphen', 'ad\u00ada@example.com'],
    ['a space inside', 'a da@example.com'],
    ['a private-use character', 'ada\ue000@example.com'],
  ])('refuses %s', (_, address) => {
    expect(emailProblem(normaliseEmail(address))).toBe('must not contain invisible, bidirectional or control characters');
  });

  it.each([
    ['a Cyrillic а in a Latin word', 'p\u0430ypal@example.com'],
    ['a Greek ο in a Latin domain label', 'ada@g\u03bfogle.com'],
    ['Cyrillic and Greek', '\u0430\u03b2@example.com'],
    ['Latin and Hebrew', 'ada\u05d0@example.com'],
    ['Hangul with Katakana', '한국\u30ab@example.com'],
  ])('refuses a label that mixes scripts: %s', (_, address) => {
    expect(emailProblem(normaliseEmail(address))).toMatch(/must not mix scripts/);
  });

  it.each([
    ['plain ASCII with digits and punctuation', 'ada.lovelace+tag_1-x@example-mail.co.uk'],
    ['Chinese only', '用户@例子.广告'],
    ['Cyrillic only', 'почта@пример.рф'],
    ['Greek only', 'αλφα@παράδειγμα.ελ'],
    ['Japanese Han with Hiragana and Katakana in one label', '山田たろうタロウ@例え.jp'],
    ['Katakana with the long-vowel mark (Common by Script)', 'ラーメン@例え.jp'],
    ['Korean Hangul with Han', '한국漢字@example.kr'],
    ['Latin with Han (UTS #39 Highly Restrictive)', 'tanaka太郎@example.jp'],
    ['scripts that differ between labels', 'ada.почта@example.com'],
  ])('accepts %s', (_, address) => {
    expect(emailProblem(normaliseEmail(address))).toBeUndefined();
  });
});

describe('IsEmailAddress (register) and IsSafeEmail (login)', () => {
  it('stores a full-width address as its ASCII form', async () => {
    expect(await validate(RegisterLike, 'ＡＤＡ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toEqual({ email: 'ada@example.com' });
    expect(await validate(LoginLike, 'ＡＤＡ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toEqual({ email: 'ada@example.com' });
  });

  it('accepts single-script and Japanese addresses', async () => {
    expect(await validate(RegisterLike, '用户@例子.广告')).toEqual({ email: '用户@例子.广告' });
    expect(await validate(RegisterLike, '山田たろうタロウ@例え.jp')).toEqual({ email: '山田たろうタロウ@例え.jp' });
  });

  it.each([
    ['a zero-width space', 'ada\u200b@example.com'],
    ['a right-to-left override', 'ada\u202e@example.com'],
    ['a Hangul filler', 'ada\u3164@example.com'],
    ['a mixed-script label', 'p\u0430ypal@example.com'],
  ])('refuses %s with a message that names the rule, never the value', async (_, address) => {
    for (const dto of [RegisterLike, LoginLike]) {
      const { messages } = await validate(dto, address);
      expect(messages).toHaveLength(1);
      expect(messages![0]).toMatch(/^email must not/);
      expect(messages![0]).not.toContain('ada');
      expect(messages![0]).not.toContain('ypal');
    }
  });

  it('refuses what is not an address at all on register only', async () => {
    expect((await validate(RegisterLike, 'not-an-email')).messages).toEqual(['email must be an email address']);
    expect(await validate(LoginLike, 'not-an-email')).toEqual({ email: 'not-an-email' });
  });
});
