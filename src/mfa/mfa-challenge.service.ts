import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { MfaClock } from './mfa-clock';

/** How long an mfaToken lives (API.md: 5 minutes). */
export const MFA_CHALLENGE_TTL_SECONDS = 300;
/** The wrong code that kills a challenge. */
export const MFA_CHALLENGE_MAX_FAILURES = 5;

/** A challenge that passed: whose it was, and the methods of its first step. */
export interface PassedMfaChallenge {
  userId: string;
  amr: string[];
}

/**
 * Checks the second factor: returns true when it is right (spending it, e.g.
 * TotpService.verifyCode or useRecoveryCode with this manager).
 */
export type MfaCheck = (userId: string, manager: EntityManager) => Promise<boolean>;

/** A wrong code at a challenge: whose, how many so far on this token, and whether it killed the token. */
export interface MfaChallengeFailure {
  userId: string;
  failedAttempts: number;
  exhausted: boolean;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 256 random bits in base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

type Outcome<T> = { kind: 'invalid' } | { kind: 'wrong'; exhausted: boolean; userId: string } | { kind: 'passed'; value: T };

/**
 * The login's second step. start() is called by a login whose password was right for a user
 * with MFA on; the `mfaToken` it returns is the only thing the client holds between the two
 * steps. verify() takes it back with a check of the code.
 */
@Injectable()
export class MfaChallengeService {
  private readonly logger = new Logger('Security');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: MfaClock,
  ) {}

  /** A new mfaToken for this user, good for 5 minutes; only its SHA-256 is stored. */
  async start(userId: string, amr: string[], manager: EntityManager = this.dataSource.manager): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await manager.query(
      `INSERT INTO mfa_challenges (id, user_id, token_hash, amr, created_at, expires_at) VALUES ($1, $2, $3, $4::text[], $5, $6)`,
      [randomUUID(), userId, hashToken(token), amr, now, new Date(now.getTime() + MFA_CHALLENGE_TTL_SECONDS * 1000)],
    );
    return token;
  }

  /**
   * One attempt at a challenge, in one transaction that holds its row, so that attempts at
   * one token take turns:
   * - unknown, expired, used, or killed by 5 wrong codes: 401 `mfa_token_invalid`;
   * - `check` false: the failure is counted (committed, with what `failed` writes: an audit
   *   event) and 401 `mfa_code_invalid`; the 5th kills it;
   * - `check` true: the challenge is spent and `complete` runs in the same transaction
   *   (open the session there: if it fails, neither the challenge nor the code is spent).
   * Returns what `complete` returns; without it, the passed challenge.
   */
  async verify<T = PassedMfaChallenge>(
    mfaToken: string,
    check: MfaCheck,
    complete?: (passed: PassedMfaChallenge, manager: EntityManager) => Promise<T>,
    failed?: (failure: MfaChallengeFailure, manager: EntityManager) => Promise<void>,
  ): Promise<T> {
    if (!TOKEN_PATTERN.test(mfaToken)) throw tokenInvalid();
    const outcome = await this.dataSource.transaction(async (db): Promise<Outcome<T>> => {
      const now = this.clock.now();
      const [row] = await db.query<Array<{ id: string; user_id: string; amr: string[]; failed_attempts: number }>>(
        `SELECT id, user_id, amr, failed_attempts FROM mfa_challenges
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failed_attempts < $3
          FOR UPDATE`,
        [hashToken(mfaToken), now, MFA_CHALLENGE_MAX_FAILURES],
      );
      if (!row) return { kind: 'invalid' };
      if (!(await check(row.user_id, db))) {
        await db.query(`UPDATE mfa_challenges SET failed_attempts = failed_attempts + 1 WHERE id = $1`, [row.id]);
        const failure = { userId: row.user_id, failedAttempts: row.failed_attempts + 1, exhausted: row.failed_attempts + 1 >= MFA_CHALLENGE_MAX_FAILURES };
        await failed?.(failure, db);
        return { kind: 'wrong', ...failure };
      }
      await db.query(`UPDATE mfa_challenges SET used_at = $2 WHERE id = $1`, [row.id, now]);
      const passed: PassedMfaChallenge = { userId: row.user_id, amr: row.amr };
      return { kind: 'passed', value: complete ? await complete(passed, db) : (passed as T) };
    });
    if (outcome.kind === 'invalid') throw tokenInvalid();
    if (outcome.kind === 'wrong') {
      if (outcome.exhausted) {
        this.logger.warn({ event: 'mfa_challenge_exhausted', userId: outcome.userId, msg: `${MFA_CHALLENGE_MAX_FAILURES} wrong codes: the mfaToken is dead` });
      }
      throw new ApiError(401, 'mfa_code_invalid', 'The code is wrong, expired or already used');
    }
    return outcome.value;
  }

  /** Ends the user's open challenges (MFA turned off, the account disabled). */
  async cancelAll(userId: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(`DELETE FROM mfa_challenges WHERE user_id = $1`, [userId]);
  }

  /** Expired challenges are of no use to anyone: an expired one is refused like an unknown one. */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-mfa-challenges' })
  async purgeExpired(): Promise<number> {
    try {
      const [, count] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM mfa_challenges WHERE expires_at <= $1`, [this.clock.now()]);
      return count;
    } catch (error) {
      this.logger.warn(`MFA challenge purge failed: ${(error as Error).message}`);
      return 0;
    }
  }
}

function tokenInvalid(): ApiError {
  return new ApiError(401, 'mfa_token_invalid', 'The MFA token is invalid, expired or used: log in again');
}
