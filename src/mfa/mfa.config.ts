import { isIP } from 'node:net';
import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

/**
 * TOTP's issuer and the passkeys' relying party. The relying party defaults from APP_URL
 * (the web app the user's browser is on): its host is the RP ID, its origin the one origin.
 */
export const mfaConfig = registerAs('mfa', () => {
  const appUrl = parseAppUrl(env.string('APP_URL', 'http://localhost:3000'));
  const origins = parseOrigins(env.list('WEBAUTHN_ORIGINS'), appUrl);
  const rpId = parseRpId(env.optional('WEBAUTHN_RP_ID'), appUrl, origins);
  return {
    /** The name authenticator apps show, and the otpauth URL's label prefix. */
    issuer: parseIssuer(env.string('MFA_ISSUER', 'auth-service')),
    webauthn: {
      rpId,
      rpName: parseName('WEBAUTHN_RP_NAME', env.string('WEBAUTHN_RP_NAME', 'auth-service')),
      /** Exact origins (`https://app.example.com`) a ceremony may come from. */
      origins,
    },
  };
});

export type MfaConfig = ReturnType<typeof mfaConfig>;

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Read here too (not only in the app slice) because the relying party defaults from it. */
function parseAppUrl(value: string): URL {
  const url = parseUrl(value);
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError('APP_URL', `must be an http:// or https:// URL without query or fragment, got "${value}"`);
  }
  return url;
}

function parseOrigins(listed: string[], appUrl: URL): string[] {
  if (listed.length === 0) return [appUrl.origin];
  for (const origin of listed) {
    const url = parseUrl(origin);
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
      throw new ConfigError('WEBAUTHN_ORIGINS', `must list origins such as https://app.example.com (scheme, host, optional port; no path), got "${origin}"`);
    }
  }
  return [...new Set(listed)];
}

/**
 * A domain that is each origin's host or a parent of it (WebAuthn's "registrable domain
 * suffix"). Browsers also refuse a public suffix (`com`, `co.uk`); without the public suffix
 * list that is left to them. An explicit RP ID must be a domain name, never an IP address;
 * the default, APP_URL's host, is taken as it is (an IP address there only means that
 * passkeys cannot work, which should not stop a service that does not use them).
 */
function parseRpId(explicit: string | undefined, appUrl: URL, origins: string[]): string {
  const rpId = explicit ?? appUrl.hostname;
  if (explicit !== undefined && (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(explicit) || isIP(explicit) !== 0)) {
    throw new ConfigError('WEBAUTHN_RP_ID', `must be a lower-case domain name such as example.com (no scheme, port or path), got "${explicit}"`);
  }
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      const source = explicit === undefined ? ` (it defaults to APP_URL's host "${rpId}")` : '';
      throw new ConfigError('WEBAUTHN_RP_ID', `must be the host of every WEBAUTHN_ORIGINS origin or a parent domain of it, but "${rpId}" is not one of "${host}"${source}`);
    }
  }
  return rpId;
}

/** The issuer is the label's prefix before a colon (`Issuer:alice@example.com`), so it may not hold one. */
function parseIssuer(value: string): string {
  if (value.includes(':')) throw new ConfigError('MFA_ISSUER', `must not contain ":" (it separates the issuer from the account in authenticator apps), got "${value}"`);
  return parseName('MFA_ISSUER', value);
}

function parseName(variable: string, value: string): string {
  if (value.length > 64 || /\p{Cc}/u.test(value)) {
    throw new ConfigError(variable, 'must be at most 64 characters without control characters');
  }
  return value;
}
