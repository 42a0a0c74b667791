import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { mfaConfig, MfaConfig } from './mfa.config';
import { MfaClock } from './mfa-clock';
import { MfaCrypto } from './mfa-crypto';
import { newRecoveryCode, normaliseRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes';

/** RFC 6238 as every authenticator app reads an otpauth URL without parameters. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either way: a phone's clock a little off, or a code typed as it rolled over. */
const DRIFT_STEPS = 1;
/** 160 bits, RFC 4226's recommended length for HMAC-SHA-1. */
const SECRET_BYTES = 20;

export interface TotpSetup {
  /** base32, for typing into an app by hand. */
  secret: string;
  otpauthUrl: string;
}

interface TotpRow {
  secret_ciphertext: Buffer;
  enabled_at: Date | null;
}

/** `[rows, affected]`: what TypeORM's query() returns for UPDATE and DELETE on PostgreSQL (and our PGlite driver). */
type WriteResult<T> = [T[], number];

/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s) and recovery codes. Every write takes the caller's
 * transaction (`manager`) when it is part of a larger action; without one, each method
 * is its own transaction.
 */
@Injectable()
export class TotpService {
  private readonly logger = new Logger('Security');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(mfaConfig.KEY) private readonly config: MfaConfig,
    private readonly crypto: MfaCrypto,
    private readonly clock: MfaClock,
  ) {}

  /**
   * A new secret, stored encrypted and pending until enable(). Again while pending, it
   * replaces the earlier one. 409 `mfa_already_enabled` when TOTP is on.
   */
  async setup(userId: string, email: string, manager?: EntityManager): Promise<TotpSetup> {
    const secret = new Secret({ size: SECRET_BYTES });
    const ciphertext = this.crypto.encryptSecret(userId, new Uint8Array(secret.buffer));
    // One statement, so that a setup racing an enable cannot replace an enabled secret.
    const rows: Array<{ user_id: string }> = await this.db(manager).query(
      `INSERT INTO mfa_totp (user_id, secret_ciphertext, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE
         SET secret_ciphertext = EXCLUDED.secret_ciphertext, created_at = EXCLUDED.created_at, last_used_step = 0
         WHERE mfa_totp.enabled_at IS NULL
       RETURNING user_id`,
      [userId, ciphertext, this.clock.now()],
    );
    if (rows.length === 0) throw alreadyEnabled();
    const issuer = encodeURIComponent(this.config.issuer);
    return {
      secret: secret.base32,
      otpauthUrl: `otpauth://totp/${issuer}:${encodeURIComponent(email)}?secret=${secret.base32}&issuer=${issuer}`,
    };
  }

  /**
   * Checks a code against the pending secret, turns TOTP on (the code is spent), and returns
   * 10 new recovery codes (shown once; only their hashes are kept). 409 `mfa_setup_required`
   * without a setup, 409 `mfa_already_enabled`, 400 `mfa_code_invalid`.
   */
  enable(userId: string, code: string, manager?: EntityManager): Promise<string[]> {
    return this.transaction(manager, async (db) => {
      const [row] = await db.query<TotpRow[]>(`SELECT secret_ciphertext, enabled_at FROM mfa_totp WHERE user_id = $1`, [userId]);
      if (!row) throw new ApiError(409, 'mfa_setup_required', 'Set up TOTP first (POST /auth/mfa/totp/setup)');
      if (row.enabled_at !== null) throw alreadyEnabled();
      const step = this.matchingStep(userId, row.secret_ciphertext, code);
      if (step === undefined) throw codeInvalid();
      // The secret checked must still be the pending one: a setup in between replaced it.
      const [, enabled] = await db.query<WriteResult<unknown>>(
        `UPDATE mfa_totp SET enabled_at = $3, last_used_step = $4
          WHERE user_id = $1 AND enabled_at IS NULL AND secret_ciphertext = $2`,
        [userId, row.secret_ciphertext, this.clock.now(), step],
      );
      if (enabled !== 1) throw codeInvalid();
      return this.replaceRecoveryCodes(db, userId);
    });
  }

  /**
   * True when `code` is the enabled TOTP's code for now (± one step) and no code of that
   * step or a later one was accepted before; the step is then spent. Two concurrent uses of
   * one code: the conditional UPDATE lets one through.
   */
  async verifyCode(userId: string, code: string, manager?: EntityManager): Promise<boolean> {
    const db = this.db(manager);
    const [row] = await db.query<TotpRow[]>(`SELECT secret_ciphertext, enabled_at FROM mfa_totp WHERE user_id = $1`, [userId]);
    if (!row || row.enabled_at === null) return false;
    const step = this.matchingStep(userId, row.secret_ciphertext, code);
    if (step === undefined) return false;
    const [, spent] = await db.query<WriteResult<unknown>>(
      `UPDATE mfa_totp SET last_used_step = $2 WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_used_step < $2`,
      [userId, step],
    );
    return spent === 1;
  }

  /** True when `code` is one of the user's unused recovery codes; it is then spent (once, whoever races). */
  async useRecoveryCode(userId: string, code: string, manager?: EntityManager): Promise<boolean> {
    const normal = normaliseRecoveryCode(code);
    if (normal === undefined) return false;
    const [, spent] = await this.db(manager).query<WriteResult<unknown>>(
      `UPDATE mfa_recovery_codes SET used_at = $3
        WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
          AND EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = $1 AND enabled_at IS NOT NULL)`,
      [userId, this.crypto.hashRecoveryCode(userId, normal), this.clock.now()],
    );
    return spent === 1;
  }

  /** 10 new recovery codes; the earlier ones stop working. 404 `mfa_not_enabled`. */
  regenerateRecoveryCodes(userId: string, manager?: EntityManager): Promise<string[]> {
    return this.transaction(manager, async (db) => {
      // FOR UPDATE: a disable committing meanwhile must not leave codes behind.
      const [row] = await db.query<TotpRow[]>(`SELECT enabled_at FROM mfa_totp WHERE user_id = $1 FOR UPDATE`, [userId]);
      if (!row || row.enabled_at === null) throw notEnabled();
      return this.replaceRecoveryCodes(db, userId);
    });
  }

  /** Turns TOTP off: the secret (also a pending one) and the recovery codes are deleted. 404 `mfa_not_enabled`. */
  disable(userId: string, manager?: EntityManager): Promise<void> {
    return this.transaction(manager, async (db) => {
      const [deleted] = await db.query<WriteResult<{ enabled_at: Date | null }>>(
        `DELETE FROM mfa_totp WHERE user_id = $1 RETURNING enabled_at`,
        [userId],
      );
      if (deleted.length === 0 || deleted[0].enabled_at === null) throw notEnabled();
      await db.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    });
  }

  async isEnabled(userId: string, manager?: EntityManager): Promise<boolean> {
    const rows: unknown[] = await this.db(manager).query(`SELECT 1 FROM mfa_totp WHERE user_id = $1 AND enabled_at IS NOT NULL`, [userId]);
    return rows.length === 1;
  }

  /** Of these users, those with TOTP on (for user lists' `mfaEnabled`, in one query). */
  async enabledAmong(userIds: string[], manager?: EntityManager): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows: Array<{ user_id: string }> = await this.db(manager).query(
      `SELECT user_id FROM mfa_totp WHERE user_id = ANY($1::uuid[]) AND enabled_at IS NOT NULL`,
      [userIds],
    );
    return new Set(rows.map((row) => row.user_id));
  }

  /** How many unused recovery codes the user has left (0 without MFA). */
  async remainingRecoveryCodes(userId: string, manager?: EntityManager): Promise<number> {
    const [row]: Array<{ n: number }> = await this.db(manager).query(
      `SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    );
    return row.n;
  }

  /** The step (Unix time / 30) the code is valid for within the drift, or undefined. */
  private matchingStep(userId: string, ciphertext: Buffer, code: string): number | undefined {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return undefined;
    let secret: Buffer;
    try {
      secret = this.crypto.decryptSecret(userId, ciphertext);
    } catch {
      // Another key, or a row that is not this user's: refuse, and say so (never the secret).
      this.logger.error({ event: 'mfa_secret_undecryptable', userId, msg: 'A TOTP secret did not decrypt: MFA_ENCRYPTION_KEY changed, or the row was altered' });
      return undefined;
    }
    const totp = new TOTP({ algorithm: 'SHA1', digits: DIGITS, period: PERIOD_SECONDS, secret: new Secret({ buffer: Uint8Array.from(secret).buffer }) });
    const timestamp = this.clock.now().getTime();
    const delta = totp.validate({ token, timestamp, window: DRIFT_STEPS });
    if (delta === null) return undefined;
    return totp.counter({ timestamp }) + delta;
  }

  private async replaceRecoveryCodes(db: EntityManager, userId: string): Promise<string[]> {
    await db.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode());
    const list = [...codes];
    await db.query(
      `INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at)
       SELECT id, $1, code_hash, $4 FROM unnest($2::uuid[], $3::text[]) AS codes (id, code_hash)`,
      [userId, list.map(() => randomUUID()), list.map((code) => this.crypto.hashRecoveryCode(userId, normaliseRecoveryCode(code)!)), this.clock.now()],
    );
    return list;
  }

  private db(manager: EntityManager | undefined): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  private transaction<T>(manager: EntityManager | undefined, work: (db: EntityManager) => Promise<T>): Promise<T> {
    return manager ? work(manager) : this.dataSource.transaction(work);
  }
}

function alreadyEnabled(): ApiError {
  return new ApiError(409, 'mfa_already_enabled', 'TOTP is already enabled');
}

function notEnabled(): ApiError {
  return new ApiError(404, 'mfa_not_enabled', 'TOTP is not enabled');
}

function codeInvalid(): ApiError {
  return new ApiError(400, 'mfa_code_invalid', 'The code is wrong, expired or already used');
}
