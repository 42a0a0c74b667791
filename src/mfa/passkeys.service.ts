import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError } from '../common/api-error';
import { normaliseEmail } from '../common/email';
import { isUniqueViolation } from '../database/database-errors';
import { PasskeyView } from './dto/passkey.view';
import { mfaConfig, MfaConfig } from './mfa.config';
import { MfaClock } from './mfa-clock';
import type { WebauthnPurpose } from './webauthn-challenge.entity';

/** How long a WebAuthn challenge is good for (API.md: 5 minutes); also the options' `timeout`. */
export const WEBAUTHN_CHALLENGE_TTL_SECONDS = 300;
const NAME_MAX_LENGTH = 100;
/**
 * EdDSA, ES256, RS256: what authenticators make. Named, not the library's default, which
 * adds ML-DSA-44 where the runtime has it: experimental in Node 24 (a warning on stderr).
 */
const ALGORITHMS = [-8, -7, -257];
const DEFAULT_NAME = 'Passkey';

/** Who is adding a passkey: the account's name in the authenticator's account picker. */
export interface PasskeyUser {
  id: string;
  email: string;
  displayName?: string | null;
}

/** A passkey login that passed: whose account it opens. */
export interface PasskeyLogin {
  userId: string;
  passkeyId: string;
}

interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Buffer;
  counter: string;
  transports: string[];
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

/**
 * Passkeys (WebAuthn) on @simplewebauthn/server. Each ceremony's challenge is a database
 * row (any instance can finish it), spent before the response is checked: a response is
 * verified once at most, and a failure spends its challenge too.
 */
@Injectable()
export class PasskeysService {
  private readonly logger = new Logger('Security');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(mfaConfig.KEY) private readonly config: MfaConfig,
    private readonly clock: MfaClock,
  ) {}

  /** Creation options for navigator.credentials.create(), excluding the user's passkeys. */
  async registrationOptions(user: PasskeyUser): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing: Array<{ credential_id: string; transports: string[] }> = await this.dataSource.query(
      `SELECT credential_id, transports FROM passkeys WHERE user_id = $1 ORDER BY created_at`,
      [user.id],
    );
    const options = await generateRegistrationOptions({
      rpName: this.config.webauthn.rpName,
      rpID: this.config.webauthn.rpId,
      userName: user.email,
      userDisplayName: user.displayName || user.email,
      // The user handle: the account's id, which says nothing about the person.
      userID: userHandle(user.id),
      challenge: new Uint8Array(randomBytes(32)),
      timeout: WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.credential_id, transports: row.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    await this.storeChallenge(options.challenge, 'register', user.id, false);
    return options;
  }

  /**
   * Checks a registration response against a challenge this user was given, and stores the
   * passkey. 400 `passkey_invalid` on any failure (also a passkey registered already).
   * `complete` runs in the transaction that stores it (an audit event, the notice email).
   */
  async verifyRegistration(
    userId: string,
    response: RegistrationResponseJSON,
    name?: string | null,
    complete?: (passkey: PasskeyView, manager: EntityManager) => Promise<void>,
  ): Promise<PasskeyView> {
    const label = name?.trim() || DEFAULT_NAME;
    if (label.length > NAME_MAX_LENGTH) throw new ApiError(400, 'validation_failed', [`name must be at most ${NAME_MAX_LENGTH} characters`]);
    const invalid = () => new ApiError(400, 'passkey_invalid', 'The passkey could not be verified');
    const challenge = challengeOf(response);
    if (challenge === undefined || !(await this.spendChallenge(challenge, 'register', userId))) throw invalid();

    let info;
    try {
      const verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.config.webauthn.origins,
        expectedRPID: this.config.webauthn.rpId,
        // The user is signed in already; 'preferred' asks for verification without demanding it.
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      });
      if (!verification.verified) throw new Error('not verified');
      info = verification.registrationInfo;
    } catch (error) {
      this.logger.debug({ event: 'passkey_registration_refused', userId, reason: (error as Error).message });
      throw invalid();
    }

    const id = randomUUID();
    try {
      return await this.dataSource.transaction(async (db) => {
        const [row]: PasskeyRow[] = await db.query(
          `INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, name, device_type, backed_up, aaguid, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9, $10, $11)
           RETURNING *`,
          [
            id,
            userId,
            info.credential.id,
            Buffer.from(info.credential.publicKey),
            info.credential.counter,
            info.credential.transports ?? [],
            label,
            info.credentialDeviceType,
            info.credentialBackedUp,
            info.aaguid,
            this.clock.now(),
          ],
        );
        const view = toView(row);
        await complete?.(view, db);
        return view;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw invalid(); // that authenticator's credential is registered already
      throw error;
    }
  }

  /**
   * Request options for navigator.credentials.get(). With an email: that account's passkeys
   * (an unknown address gets what an account without passkeys gets, an empty list, and no
   * passkey can answer it); without: any discoverable passkey.
   */
  async loginOptions(email?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    let allowCredentials: Array<{ id: string; transports: string[] }> | undefined;
    let userId: string | null = null;
    if (email !== undefined) {
      // Read by SQL, not through UsersService: the MFA module does not depend on Users. One
      // query whether the account exists or not.
      const rows: Array<{ user_id: string; credential_id: string | null; transports: string[] | null }> = await this.dataSource.query(
        `SELECT u.id AS user_id, p.credential_id, p.transports
           FROM users u LEFT JOIN passkeys p ON p.user_id = u.id
          WHERE u.email = $1 ORDER BY p.created_at`,
        [normaliseEmail(email)],
      );
      userId = rows[0]?.user_id ?? null;
      allowCredentials = rows
        .filter((row) => row.credential_id !== null)
        .map((row) => ({ id: row.credential_id!, transports: row.transports ?? [] }));
    }
    const options = await generateAuthenticationOptions({
      rpID: this.config.webauthn.rpId,
      allowCredentials,
      challenge: new Uint8Array(randomBytes(32)),
      timeout: WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000,
      // A passkey login is both factors at once (aal 2): the authenticator must verify the user.
      userVerification: 'required',
    });
    await this.storeChallenge(options.challenge, 'login', userId, email !== undefined);
    return options;
  }

  /**
   * Checks an assertion: a login challenge of ours, unspent and unexpired, a passkey we know
   * (of the account the challenge was asked for, if any), origin and RP ID, user verification,
   * the signature, and a counter that went up (or stayed 0). 401 `passkey_invalid` otherwise.
   * `complete` runs in the transaction that records the use (open the session there).
   */
  async verifyLogin<T = PasskeyLogin>(
    response: AuthenticationResponseJSON,
    complete?: (login: PasskeyLogin, manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    const invalid = () => new ApiError(401, 'passkey_invalid', 'The passkey could not be verified');
    const challengeText = challengeOf(response);
    const challenge = challengeText === undefined ? undefined : await this.spendChallenge(challengeText, 'login');
    if (challengeText === undefined || !challenge) throw invalid();

    const credentialId = typeof response?.id === 'string' && response.id.length <= 1364 ? response.id : undefined;
    const [passkey]: PasskeyRow[] = credentialId
      ? await this.dataSource.query(`SELECT * FROM passkeys WHERE credential_id = $1`, [credentialId])
      : [];
    if (!passkey) throw invalid();
    if (challenge.account_bound && passkey.user_id !== challenge.user_id) throw invalid();
    // The library does not look at the user handle; a discoverable credential's must be its owner's.
    const handle = response.response?.userHandle;
    if (handle !== undefined && handle !== null && handle !== Buffer.from(userHandle(passkey.user_id)).toString('base64url')) throw invalid();

    const storedCounter = Number(passkey.counter);
    let info;
    try {
      const verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challengeText,
        expectedOrigin: this.config.webauthn.origins,
        expectedRPID: this.config.webauthn.rpId,
        credential: {
          id: passkey.credential_id,
          publicKey: new Uint8Array(passkey.public_key),
          counter: storedCounter,
          transports: passkey.transports,
        },
        requireUserVerification: true,
      });
      if (!verification.verified) throw new Error('not verified');
      info = verification.authenticationInfo;
    } catch (error) {
      this.refused(passkey, (error as Error).message);
      throw invalid();
    }

    const login: PasskeyLogin = { userId: passkey.user_id, passkeyId: passkey.id };
    return this.dataSource.transaction(async (db) => {
      // The counter must still be below the new one: of two logins racing with one
      // authenticator's responses, one counts, and a cloned authenticator is caught.
      const [, updated] = await db.query<[unknown[], number]>(
        `UPDATE passkeys SET counter = $2, backed_up = $3, last_used_at = $4
          WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0))`,
        [passkey.id, info.newCounter, info.credentialBackedUp, this.clock.now()],
      );
      if (updated !== 1) {
        this.refused(passkey, `counter ${info.newCounter} is not above the stored one`);
        throw invalid();
      }
      return complete ? complete(login, db) : (login as T);
    });
  }

  async list(userId: string): Promise<PasskeyView[]> {
    const rows: PasskeyRow[] = await this.dataSource.query(`SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
    return rows.map(toView);
  }

  /** 404 `not_found` when it is not one of the user's passkeys. */
  async remove(userId: string, id: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    const [, deleted] = await manager.query<[unknown[], number]>(`DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, [id, userId]);
    if (deleted !== 1) throw new ApiError(404, 'not_found', 'Passkey not found');
  }

  /** Expired challenges are refused like unknown ones; nothing needs them afterwards. */
  @Cron(CronExpression.EVERY_HOUR, { name: 'purge-webauthn-challenges' })
  async purgeExpired(): Promise<number> {
    try {
      const [, count] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM webauthn_challenges WHERE expires_at <= $1`, [this.clock.now()]);
      return count;
    } catch (error) {
      this.logger.warn(`WebAuthn challenge purge failed: ${(error as Error).message}`);
      return 0;
    }
  }

  private async storeChallenge(challenge: string, purpose: WebauthnPurpose, userId: string | null, accountBound: boolean): Promise<void> {
    const now = this.clock.now();
    await this.dataSource.query(
      `INSERT INTO webauthn_challenges (id, challenge, purpose, user_id, account_bound, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [randomUUID(), challenge, purpose, userId, accountBound, now, new Date(now.getTime() + WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000)],
    );
  }

  /**
   * Spends a challenge (committed at once, whatever follows): returns its row when it was
   * ours, of this purpose (and user, for a registration), unspent and unexpired.
   */
  private async spendChallenge(challenge: string, purpose: WebauthnPurpose, userId?: string): Promise<{ user_id: string | null; account_bound: boolean } | undefined> {
    if (challenge.length > 64) return undefined;
    const now = this.clock.now();
    const [rows] = await this.dataSource.query<[Array<{ user_id: string | null; account_bound: boolean }>, number]>(
      `UPDATE webauthn_challenges SET used_at = $3
        WHERE challenge = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
          AND ($4::uuid IS NULL OR user_id = $4::uuid)
        RETURNING user_id, account_bound`,
      [challenge, purpose, now, userId ?? null],
    );
    return rows[0];
  }

  private refused(passkey: PasskeyRow, reason: string): void {
    // A counter going backwards is what a cloned authenticator looks like: worth a warning.
    const entry = { event: 'passkey_login_refused', userId: passkey.user_id, passkeyId: passkey.id, reason };
    if (/counter/i.test(reason)) this.logger.warn(entry);
    else this.logger.debug(entry);
  }
}

/** The user's id as the WebAuthn user handle: its 16 bytes. */
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/** The challenge a response's clientDataJSON answers, or undefined when there is none to read. */
function challengeOf(response: { response?: { clientDataJSON?: unknown } } | undefined): string | undefined {
  try {
    const encoded = response?.response?.clientDataJSON;
    if (typeof encoded !== 'string' || encoded.length > 4096) return undefined;
    const clientData: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    const challenge = (clientData as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === 'string' && challenge !== '' ? challenge : undefined;
  } catch {
    return undefined;
  }
}

function toView(row: PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
  };
}
