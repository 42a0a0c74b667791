import { describe, expect, it } from 'vitest';
import { describeBrowser, escapeHtml, noticeOf, renderMail, TEMPLATES, type MailTemplateParams, type OutgoingMail } from './mail-templates';

const APP_URL = 'https://app.example.com/base';
const TOKEN = 'Xy_-' + 'a'.repeat(39);
const NOTICE = { at: '2030-01-02T03:04:05.000Z', ip: '192.0.2.1', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' };

/** One valid parameter set per template. */
const SAMPLES: { [T in keyof MailTemplateParams]: MailTemplateParams[T] } = {
  verify_email: { token: TOKEN, expiresAt: '2030-01-03T00:00:00Z' },
  reset_password: { token: TOKEN, expiresAt: '2030-01-03T00:00:00Z' },
  confirm_email_change: { token: TOKEN, expiresAt: '2030-01-03T00:00:00Z', newEmail: 'new@example.com' },
  password_changed: NOTICE,
  password_reset: NOTICE,
  email_change_requested: { ...NOTICE, newEmail: 'new@example.com' },
  email_changed: { ...NOTICE, newEmail: 'new@example.com' },
  mfa_enabled: NOTICE,
  mfa_disabled: NOTICE,
  passkey_added: { ...NOTICE, passkeyName: null },
};

describe('renderMail', () => {
  it('renders every template, each with its own subject, a text and an HTML part', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...TEMPLATES].sort());
    const subjects = new Set<string>();
    for (const template of TEMPLATES) {
      const mail = renderMail(template, SAMPLES[template], APP_URL);
      subjects.add(mail.subject);
      expect(mail.text.length).toBeGreaterThan(50);
      expect(mail.html).toMatch(/^<!DOCTYPE html>/);
      expect(mail.html).not.toMatch(/<img|<link|<script|\bsrc=|url\(/i); // nothing to fetch
    }
    expect(subjects.size).toBe(TEMPLATES.length);
  });

  it.each([
    ['verify_email', '/verify-email'],
    ['reset_password', '/reset-password'],
    ['confirm_email_change', '/confirm-email-change'],
  ] as const)('%s links to APP_URL + %s + ?token=', (template, path) => {
    const mail = renderMail(template, SAMPLES[template], APP_URL);
    expect(mail.text).toContain(`${APP_URL}${path}?token=${TOKEN}\n`);
    expect(mail.html).toContain(`href="${APP_URL}${path}?token=${TOKEN}"`);
    expect(mail.text).toContain('2030-01-03 00:00 UTC');
  });

  it('puts no token in a notice, and says when, from where, and what to do', () => {
    for (const template of TEMPLATES.filter((name) => !('token' in SAMPLES[name]))) {
      const { text, html } = renderMail(template, { ...SAMPLES[template], token: TOKEN }, APP_URL);
      for (const body of [text, html]) {
        expect(body).not.toContain(TOKEN);
        expect(body).toContain('2030-01-02 03:04 UTC');
        expect(body).toContain('192.0.2.1');
        expect(body).toContain('Chrome on Windows');
        expect(body).toContain('If this was not you');
      }
    }
  });

  it('escapes every parameter in the HTML part, and keeps it as written in the text part', () => {
    const hostile = '<script>alert("x")</script> & \'co\'';
    const mail = renderMail('passkey_added', { ...NOTICE, displayName: hostile, passkeyName: hostile, userAgent: hostile }, APP_URL);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(mail.text).toContain(`Hello ${hostile},`);
    const change = renderMail('confirm_email_change', { ...SAMPLES.confirm_email_change, newEmail: '"><b>x</b>@example.com' }, APP_URL);
    expect(change.html).not.toContain('<b>x</b>');
  });

  it('says who when a display name is given, and greets plainly otherwise', () => {
    expect(renderMail('verify_email', { ...SAMPLES.verify_email, displayName: 'Ada' }, APP_URL).text).toMatch(/^Hello Ada,\n/);
    expect(renderMail('verify_email', { ...SAMPLES.verify_email, displayName: null }, APP_URL).text).toMatch(/^Hello,\n/);
  });

  it.each([
    ['a token that is not base64url', 'verify_email', { token: 'abc+/=abcabcabcabcabc', expiresAt: '2030-01-01T00:00:00Z' }, /base64url/],
    ['a missing token', 'reset_password', { expiresAt: '2030-01-01T00:00:00Z' }, /token/],
    ['a malformed time', 'mfa_enabled', { ...NOTICE, at: 'yesterday' }, /ISO 8601/],
    ['a missing new address', 'email_changed', NOTICE, /newEmail/],
    ['an unknown template', 'welcome', {}, /not a template/],
    ['params that are not an object', 'mfa_enabled', 'x', /object/],
  ])('refuses %s', (_, template, params, problem) => {
    expect(() => renderMail(template, params, APP_URL)).toThrow(problem);
  });
});

describe('OutgoingMail', () => {
  it('ties the parameters to the template, at compile time', () => {
    const ok: OutgoingMail[] = [
      { to: 'a@example.com', template: 'verify_email', params: SAMPLES.verify_email },
      { to: 'a@example.com', template: 'mfa_enabled', params: noticeOf({ ip: null, userAgent: null }) },
    ];
    // @ts-expect-error a notice's parameters for a token message
    const wrong: OutgoingMail = { to: 'a@example.com', template: 'verify_email', params: NOTICE };
    // @ts-expect-error newEmail is required for this notice
    const missing: OutgoingMail = { to: 'a@example.com', template: 'email_change_requested', params: NOTICE };
    expect([...ok, wrong, missing]).toHaveLength(4);
  });
});

describe('describeBrowser', () => {
  it.each([
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
    ['curl/8.5.0', '"curl/8.5.0"'],
    [null, 'an unknown browser'],
  ])('%j is %j', (userAgent, expected) => {
    expect(describeBrowser(userAgent)).toBe(expected);
  });

  it('shortens an unknown one and drops control characters', () => {
    expect(describeBrowser(`x\u0000\u202e${'y'.repeat(300)}`)).toBe(`"x${'y'.repeat(119)}…"`);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
