import { describe, expect, it } from 'vitest';
import { describeSendError } from './mail-transport';
import { retryDelaySeconds } from './mail.worker';

describe('retryDelaySeconds', () => {
  it('doubles with each failed try, between half and all of 2^attempts seconds', () => {
    expect(retryDelaySeconds(1, 300, () => 0)).toBe(1);
    expect(retryDelaySeconds(1, 300, () => 1)).toBe(2);
    expect(retryDelaySeconds(4, 300, () => 0)).toBe(8);
    expect(retryDelaySeconds(4, 300, () => 1)).toBe(16);
    expect(retryDelaySeconds(4, 300, () => 0.5)).toBe(12);
  });

  it('never exceeds MAIL_RETRY_MAX_DELAY, however many tries failed', () => {
    for (const attempts of [9, 10, 50, 1100, Number.MAX_SAFE_INTEGER]) {
      expect(retryDelaySeconds(attempts, 300, () => 1)).toBe(300);
      expect(retryDelaySeconds(attempts, 300, () => 0)).toBe(150);
    }
  });
});

describe('describeSendError', () => {
  it('keeps the error code, the network cause and the SMTP reply, nothing else', () => {
    expect(describeSendError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }))).toBe(
      'ESOCKET ECONNREFUSED',
    );
    const refused = Object.assign(new Error('Message failed: 451 4.7.1 Greylisted\r\n'), {
      code: 'EMESSAGE',
      responseCode: 451,
      response: '451 4.7.1 Greylisted\r\n',
    });
    expect(describeSendError(refused)).toBe('EMESSAGE 451 4.7.1 Greylisted ');
    expect(describeSendError(new TypeError('boom with some private detail'))).toBe('TypeError');
    expect(describeSendError(Object.assign(new Error(), { code: 'EMESSAGE', responseCode: 554, response: 'x'.repeat(1000) })).length).toBe(500);
  });
});
