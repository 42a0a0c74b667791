import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { mfaConfig } from './mfa.config';

isolateEnv(['APP_URL', 'MFA_ISSUER', 'WEBAUTHN_RP_ID', 'WEBAUTHN_RP_NAME', 'WEBAUTHN_ORIGINS']);

const errorOf = () => configErrorOf(() => mfaConfig()).message;

describe('mfaConfig', () => {
  it('defaults: issuer and RP name auth-service, the RP from APP_URL http://localhost:3000', () => {
    expect(mfaConfig()).toEqual({
      issuer: 'auth-service',
      webauthn: { rpId: 'localhost', rpName: 'auth-service', origins: ['http://localhost:3000'] },
    });
  });

  it("takes the RP ID and the origin from APP_URL (its host, its origin: no path)", () => {
    process.env.APP_URL = 'https://app.example.com:8443/portal/';
    expect(mfaConfig().webauthn).toMatchObject({ rpId: 'app.example.com', origins: ['https://app.example.com:8443'] });
  });

  it('accepts a parent domain as RP ID for several origins under it', () => {
    process.env.WEBAUTHN_RP_ID = 'example.com';
    process.env.WEBAUTHN_ORIGINS = 'https://app.example.com, https://example.com,https://admin.eu.example.com:8443';
    process.env.MFA_ISSUER = 'Acme Corp';
    process.env.WEBAUTHN_RP_NAME = 'Acme';
    expect(mfaConfig()).toEqual({
      issuer: 'Acme Corp',
      webauthn: { rpId: 'example.com', rpName: 'Acme', origins: ['https://app.example.com', 'https://example.com', 'https://admin.eu.example.com:8443'] },
    });
  });

  it('refuses an RP ID that is not the host or a parent domain of every origin, naming WEBAUTHN_RP_ID', () => {
    process.env.WEBAUTHN_RP_ID = 'example.com';
    process.env.WEBAUTHN_ORIGINS = 'https://app.example.com,https://app.example.org';
    expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_ID .*app\.example\.org/);
    process.env.WEBAUTHN_ORIGINS = 'https://notexample.com';
    expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_ID /);
    process.env.WEBAUTHN_RP_ID = 'app.example.com';
    process.env.WEBAUTHN_ORIGINS = 'https://example.com';
    expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_ID /);
  });

  it("refuses origins that APP_URL's host does not cover when WEBAUTHN_RP_ID is unset", () => {
    process.env.APP_URL = 'https://app.example.com';
    process.env.WEBAUTHN_ORIGINS = 'https://login.example.com';
    expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_ID .*defaults to APP_URL's host/);
  });

  it.each(['https://Example.com', 'example.com:443', 'https://example.com', 'example.com/', '127.0.0.1', 'exa_mple.com', '-example.com'])(
    'refuses WEBAUTHN_RP_ID=%s',
    (rpId) => {
      process.env.WEBAUTHN_RP_ID = rpId;
      process.env.WEBAUTHN_ORIGINS = 'https://example.com';
      expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_ID /);
    },
  );

  it.each(['app.example.com', 'https://app.example.com/', 'https://app.example.com/login', 'ftp://app.example.com', 'https://app.example.com?x=1'])(
    'refuses WEBAUTHN_ORIGINS=%s',
    (origin) => {
      process.env.WEBAUTHN_ORIGINS = origin;
      expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_ORIGINS /);
    },
  );

  it.each(['not a url', 'ftp://example.com', 'https://example.com/?q=1', 'https://user:pw@example.com'])('refuses APP_URL=%s', (url) => {
    process.env.APP_URL = url;
    expect(errorOf()).toMatch(/^Invalid configuration: APP_URL /);
  });

  it('refuses an issuer with a colon (the label separator), a control character, or over 64 characters', () => {
    process.env.MFA_ISSUER = 'Acme: login';
    expect(errorOf()).toMatch(/^Invalid configuration: MFA_ISSUER /);
    process.env.MFA_ISSUER = 'Acme\u0007';
    expect(errorOf()).toMatch(/^Invalid configuration: MFA_ISSUER /);
    process.env.MFA_ISSUER = 'x'.repeat(65);
    expect(errorOf()).toMatch(/^Invalid configuration: MFA_ISSUER /);
    delete process.env.MFA_ISSUER;
    process.env.WEBAUTHN_RP_NAME = 'y'.repeat(65);
    expect(errorOf()).toMatch(/^Invalid configuration: WEBAUTHN_RP_NAME /);
  });
});
