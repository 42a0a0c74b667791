import { Injectable } from '@nestjs/common';

/**
 * The time every MFA rule reads (TOTP steps, the 5-minute lives of challenges), as one
 * provider so that tests can move it; expiries are compared in SQL against this time, not
 * the database's `now()`, for the same reason.
 */
@Injectable()
export class MfaClock {
  now(): Date {
    return new Date();
  }
}
