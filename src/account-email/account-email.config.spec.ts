import { describe, expect, it } from 'vitest';
import { configErrorOf, isolateEnv } from '../../test/support/env';
import { accountEmailConfig } from './account-email.config';

isolateEnv(['EMAIL_VERIFICATION', 'EMAIL_VERIFICATION_TTL', 'PASSWORD_RESET_TTL', 'EMAIL_RATE_LIMIT', 'EMAIL_RATE_WINDOW']);

describe('accountEmailConfig', () => {
  it('defaults: verification optional, links for 24 h and 30 min, 5 messages per address per hour', () => {
    expect(accountEmailConfig()).toEqual({
      verification: 'optional',
      verificationTtlSeconds: 86_400,
      resetTtlSeconds: 1800,
      rateLimit: { limit: 5, windowSeconds: 3600 },
    });
  });

  it('reads every variable', () => {
    Object.assign(process.env, {
      EMAIL_VERIFICATION: 'Required',
      EMAIL_VERIFICATION_TTL: '2d',
      PASSWORD_RESET_TTL: '15m',
      EMAIL_RATE_LIMIT: '3',
      EMAIL_RATE_WINDOW: '600',
    });
    expect(accountEmailConfig()).toEqual({
      verification: 'required',
      verificationTtlSeconds: 2 * 86_400,
      resetTtlSeconds: 900,
      rateLimit: { limit: 3, windowSeconds: 600 },
    });
    process.env.EMAIL_VERIFICATION = 'off';
    expect(accountEmailConfig().verification).toBe('off');
  });

  it.each([
    ['EMAIL_VERIFICATION', 'maybe', /must be off, optional or required/],
    ['EMAIL_VERIFICATION_TTL', '0', /positive duration/],
    ['EMAIL_VERIFICATION_TTL', '31d', /at most 30d/],
    ['PASSWORD_RESET_TTL', 'soon', /positive duration/],
    ['PASSWORD_RESET_TTL', '2d', /at most 24h/],
    ['EMAIL_RATE_LIMIT', '0', /between 1 and/],
    ['EMAIL_RATE_LIMIT', 'five', /whole number/],
    ['EMAIL_RATE_WINDOW', '-1h', /positive duration/],
  ])('refuses %s=%j, naming it', (name, value, problem) => {
    process.env[name] = value;
    const error = configErrorOf(() => accountEmailConfig());
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${name} `));
    expect(error.message).toMatch(problem);
  });
});
