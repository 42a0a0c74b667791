import type { ClientInfo } from '../common/auth';

/**
 * Every message the service sends, and the parameters each one needs. `enqueue()` takes
 * an `OutgoingMail`, so a caller that passes the wrong parameters for a template gets a
 * type error. Parameters are stored as JSON in the outbox row until the message is sent.
 */
export interface MailTemplateParams {
  verify_email: TokenParams;
  reset_password: TokenParams;
  /** Sent to the new address. */
  confirm_email_change: TokenParams & { newEmail: string };
  password_changed: NoticeParams;
  password_reset: NoticeParams;
  /** Sent to the old address while the change waits for the new address's confirmation. */
  email_change_requested: NoticeParams & { newEmail: string };
  email_changed: NoticeParams & { newEmail: string };
  mfa_enabled: NoticeParams;
  mfa_disabled: NoticeParams;
  passkey_added: NoticeParams & { passkeyName?: string | null };
}

export type MailTemplate = keyof MailTemplateParams;

/** One message to queue: `params` must be those of `template`. */
export type OutgoingMail = {
  [T in MailTemplate]: {
    to: string;
    template: T;
    params: MailTemplateParams[T];
    /** The user it is about, so that deleting the user can drop the pending mail (see MailService.deletePendingForUser). */
    userId?: string | null;
  };
}[MailTemplate];

interface Greeting {
  displayName?: string | null;
}

/** A message with a link that carries a one-time token. The token is removed from the row once the message is sent. */
export interface TokenParams extends Greeting {
  /** base64url; only its hash is kept by the flow that issued it. */
  token: string;
  /** ISO 8601: when the link stops working. */
  expiresAt: string;
}

/** What happened when, from where: every notice says so. */
export interface NoticeParams extends Greeting {
  /** ISO 8601. */
  at: string;
  ip: string | null;
  userAgent: string | null;
}

/** The notice fields of a request: `{ ...noticeOf(client), newEmail }`. */
export function noticeOf(client: ClientInfo, at: Date = new Date()): NoticeParams {
  return { at: at.toISOString(), ip: client.ip, userAgent: client.userAgent };
}

/** The parameter that holds a secret, removed from the row once the message is out. */
export const SECRET_PARAM = 'token';

export const TEMPLATES: readonly MailTemplate[] = [
  'verify_email',
  'reset_password',
  'confirm_email_change',
  'password_changed',
  'password_reset',
  'email_change_requested',
  'email_changed',
  'mfa_enabled',
  'mfa_disabled',
  'passkey_added',
];

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** base64url, as the contract says a link's token is; long enough for 256 bits, short enough to be a token. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,512}$/;

/** The links' paths: the service serves these pages itself when APP_URL is the service. */
export const LINK_PATHS = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
  confirm_email_change: '/confirm-email-change',
} as const;

/**
 * Renders a message from its row. Throws on parameters that do not fit the template (a
 * row written by a caller that bypassed the types, or by an older version): `enqueue()`
 * renders once too, so that such a caller fails in its own transaction.
 */
export function renderMail(template: string, params: unknown, appUrl: string): RenderedMail {
  const p = params as Record<string, unknown>;
  if (typeof params !== 'object' || params === null) throw new MailTemplateError(template, 'params must be an object');
  const site = new URL(appUrl).host;
  const hello = greeting(p);
  switch (template as MailTemplate) {
    case 'verify_email':
      return tokenMail(template, p, appUrl, {
        subject: 'Verify your email address',
        hello,
        lead: `Please confirm that this address belongs to your account at ${site}.`,
        action: 'Verify my email address',
        ignore: 'If you did not create an account, you can ignore this message: nothing happens unless the link is opened.',
      });
    case 'reset_password':
      return tokenMail(template, p, appUrl, {
        subject: 'Reset your password',
        hello,
        lead: `Someone, hopefully you, asked to reset the password of your account at ${site}. The link below lets you choose a new one.`,
        action: 'Choose a new password',
        ignore: 'If you did not ask for this, ignore this message: your password stays as it is.',
      });
    case 'confirm_email_change':
      return tokenMail(template, p, appUrl, {
        subject: 'Confirm your new email address',
        hello,
        lead: `Please confirm that ${str(template, p, 'newEmail')} should become the sign-in address of your account at ${site}.`,
        action: 'Confirm my new email address',
        ignore: 'If you did not ask for this, ignore this message: the address of the account does not change unless the link is opened.',
      });
    case 'password_changed':
      return notice(template, p, appUrl, {
        subject: 'Your password was changed',
        what: `The password of your account at ${site} was changed.`,
        ifNotYou: `If this was not you, someone else knows your password: reset it now with "Forgot password" at ${appUrl}, and review your active sessions.`,
      });
    case 'password_reset':
      return notice(template, p, appUrl, {
        subject: 'Your password was reset',
        what: `The password of your account at ${site} was reset through a link sent to this address.`,
        ifNotYou: `If this was not you, someone can read this mailbox: secure it first, then reset your password again with "Forgot password" at ${appUrl}.`,
      });
    case 'email_change_requested':
      return notice(template, p, appUrl, {
        subject: 'A change of your email address was requested',
        what: `A change of the sign-in address of your account at ${site} to ${str(template, p, 'newEmail')} was requested. It happens only once the link sent to that address is opened.`,
        ifNotYou: `If this was not you, someone else is signed in to your account: change your password now at ${appUrl} and sign out your other sessions. The change will not happen unless the new address confirms it.`,
      });
    case 'email_changed':
      return notice(template, p, appUrl, {
        subject: 'Your email address was changed',
        what: `The sign-in address of your account at ${site} is now ${str(template, p, 'newEmail')}. Messages about the account will go there from now on.`,
        ifNotYou: 'If this was not you, your account may have been taken over: contact the support of the service right away, from this address.',
      });
    case 'mfa_enabled':
      return notice(template, p, appUrl, {
        subject: 'Two-step verification was turned on',
        what: `Two-step verification was turned on for your account at ${site}. Signing in now also asks for a code from your authenticator app.`,
        ifNotYou: `If this was not you, someone else is signed in to your account: reset your password now with "Forgot password" at ${appUrl}, and contact the support of the service.`,
      });
    case 'mfa_disabled':
      return notice(template, p, appUrl, {
        subject: 'Two-step verification was turned off',
        what: `Two-step verification was turned off for your account at ${site}. Signing in now needs only the password.`,
        ifNotYou: `If this was not you, someone else is signed in to your account: reset your password now with "Forgot password" at ${appUrl}, then turn two-step verification back on.`,
      });
    case 'passkey_added': {
      const name = optionalStr(template, p, 'passkeyName');
      return notice(template, p, appUrl, {
        subject: 'A passkey was added to your account',
        what: `A passkey${name ? ` named "${name}"` : ''} was added to your account at ${site}. It can now be used to sign in.`,
        ifNotYou: `If this was not you, someone else can sign in to your account: remove the passkey in your account settings at ${appUrl}, and reset your password.`,
      });
    }
    default:
      throw new MailTemplateError(template, 'is not a template');
  }
}

export class MailTemplateError extends Error {
  constructor(template: string, problem: string) {
    super(`Mail template ${JSON.stringify(String(template)).slice(0, 60)}: ${problem}`);
    this.name = 'MailTemplateError';
  }
}

interface TokenMailText {
  subject: string;
  hello: string;
  lead: string;
  action: string;
  ignore: string;
}

function tokenMail(template: string, p: Record<string, unknown>, appUrl: string, words: TokenMailText): RenderedMail {
  const token = str(template, p, 'token');
  if (!TOKEN_PATTERN.test(token)) throw new MailTemplateError(template, 'token must be base64url');
  const expires = formatTime(template, str(template, p, 'expiresAt'));
  const link = `${appUrl}${LINK_PATHS[template as keyof typeof LINK_PATHS]}?token=${token}`;
  const validity = `The link works once, until ${expires}.`;
  const text = [words.hello, '', words.lead, '', `${words.action}:`, link, '', validity, '', words.ignore, ''].join('\n');
  const html = page(
    words.subject,
    [
      paragraph(words.hello),
      paragraph(words.lead),
      `<p style="margin:24px 0"><a href="${escapeHtml(link)}" style="background:#1a56db;color:#ffffff;padding:10px 18px;border-radius:4px;text-decoration:none;display:inline-block">${escapeHtml(words.action)}</a></p>`,
      paragraph('Or copy this address into your browser:'),
      `<p style="word-break:break-all;font-family:monospace;font-size:13px">${escapeHtml(link)}</p>`,
      paragraph(validity),
      paragraph(words.ignore, '#555555'),
    ].join('\n'),
  );
  return { subject: words.subject, text, html };
}

interface NoticeText {
  subject: string;
  what: string;
  ifNotYou: string;
}

function notice(template: string, p: Record<string, unknown>, appUrl: string, words: NoticeText): RenderedMail {
  const when = formatTime(template, str(template, p, 'at'));
  const ip = optionalStr(template, p, 'ip') ?? 'an unknown address';
  const browser = describeBrowser(optionalStr(template, p, 'userAgent'));
  const hello = greeting(p);
  const details = [`When: ${when}`, `From: ${ip}, ${browser}`];
  const text = [hello, '', words.what, '', ...details, '', words.ifNotYou, '', `This notice is sent for your security; there is nothing to do if it was you. ${appUrl}`, ''].join('\n');
  const html = page(
    words.subject,
    [
      paragraph(hello),
      paragraph(words.what),
      `<table style="margin:16px 0;border-collapse:collapse">${details
        .map((line) => {
          const [label, ...rest] = line.split(': ');
          return `<tr><td style="padding:2px 12px 2px 0;color:#555555">${escapeHtml(label)}</td><td style="padding:2px 0">${escapeHtml(rest.join(': '))}</td></tr>`;
        })
        .join('')}</table>`,
      paragraph(words.ifNotYou, '#9b1c1c'),
      paragraph('This notice is sent for your security; there is nothing to do if it was you.', '#555555'),
    ].join('\n'),
  );
  return { subject: words.subject, text, html };
}

function greeting(p: Record<string, unknown>): string {
  const name = typeof p.displayName === 'string' ? p.displayName.trim().slice(0, 100) : '';
  return name ? `Hello ${name},` : 'Hello,';
}

function str(template: string, p: Record<string, unknown>, key: string): string {
  const value = p[key];
  if (typeof value !== 'string' || value === '') throw new MailTemplateError(template, `${key} must be a non-empty string`);
  return value;
}

function optionalStr(template: string, p: Record<string, unknown>, key: string): string | null {
  const value = p[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new MailTemplateError(template, `${key} must be a string or null`);
  return value === '' ? null : value;
}

/** `2025-11-27 14:03 UTC`: one unambiguous form, whatever the reader's locale. */
function formatTime(template: string, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new MailTemplateError(template, 'a time must be an ISO 8601 date');
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A reader's summary of a User-Agent ("Firefox on Linux"); the raw text, shortened, when it is not one of the usual ones. */
export function describeBrowser(userAgent: string | null): string {
  if (!userAgent) return 'an unknown browser';
  const browser =
    /\bEdg(e|A|iOS)?\//.test(userAgent) ? 'Edge'
    : /\bOPR\/|\bOpera\b/.test(userAgent) ? 'Opera'
    : /\bFirefox\/|\bFxiOS\//.test(userAgent) ? 'Firefox'
    : /\bChrome\/|\bCriOS\//.test(userAgent) ? 'Chrome'
    : /\bSafari\//.test(userAgent) && /\bVersion\//.test(userAgent) ? 'Safari'
    : undefined;
  const system =
    /\bAndroid\b/.test(userAgent) ? 'Android'
    : /\biPhone|iPad|iPod\b/.test(userAgent) ? 'iOS'
    : /\bWindows\b/.test(userAgent) ? 'Windows'
    : /\bMac OS X\b|\bMacintosh\b/.test(userAgent) ? 'macOS'
    : /\bCrOS\b/.test(userAgent) ? 'ChromeOS'
    : /\bLinux\b/.test(userAgent) ? 'Linux'
    : undefined;
  if (browser) return system ? `${browser} on ${system}` : browser;
  const shortened = userAgent.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 120);
  return `"${shortened}${userAgent.length > 120 ? '…' : ''}"`;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function paragraph(text: string, colour?: string): string {
  return `<p style="margin:0 0 16px 0${colour ? `;color:${colour}` : ''}">${escapeHtml(text)}</p>`;
}

/** A self-contained page: inline styles only, no image, font or stylesheet to fetch. */
function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f5f5f5;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#111111">',
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;padding:24px;border-radius:6px">',
    body,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
