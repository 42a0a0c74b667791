import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * MFA and passkeys (src/mfa): TOTP authenticators and their recovery codes, the login's
 * second-step challenges, passkeys and WebAuthn challenges. Every row goes with its user.
 * Challenges live in the database, not in memory, so that any instance can finish what
 * another began.
 */
export class CreateMfa1764500000000 implements MigrationInterface {
  name = 'CreateMfa1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mfa_totp" (
        "user_id" uuid NOT NULL,
        "secret_ciphertext" bytea NOT NULL,
        "enabled_at" timestamptz,
        "last_used_step" bigint NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_mfa_totp" PRIMARY KEY ("user_id"),
        CONSTRAINT "FK_mfa_totp_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);

    // The unique pair also serves the lookups by user (its first column).
    await queryRunner.query(`
      CREATE TABLE "mfa_recovery_codes" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "code_hash" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "used_at" timestamptz,
        CONSTRAINT "PK_mfa_recovery_codes" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_mfa_recovery_codes_user_code" UNIQUE ("user_id", "code_hash"),
        CONSTRAINT "FK_mfa_recovery_codes_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);

    await queryRunner.query(`
      CREATE TABLE "mfa_challenges" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "token_hash" varchar(64) NOT NULL,
        "amr" text array NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "failed_attempts" smallint NOT NULL DEFAULT 0,
        "used_at" timestamptz,
        CONSTRAINT "PK_mfa_challenges" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_mfa_challenges_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "FK_mfa_challenges_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_mfa_challenges_user" ON "mfa_challenges" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_mfa_challenges_expires_at" ON "mfa_challenges" ("expires_at")`);

    await queryRunner.query(`
      CREATE TABLE "passkeys" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "credential_id" varchar(1364) NOT NULL,
        "public_key" bytea NOT NULL,
        "counter" bigint NOT NULL DEFAULT 0,
        "transports" text array NOT NULL DEFAULT '{}',
        "name" varchar(100) NOT NULL,
        "device_type" varchar(16) NOT NULL,
        "backed_up" boolean NOT NULL,
        "aaguid" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz,
        CONSTRAINT "PK_passkeys" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_passkeys_credential_id" UNIQUE ("credential_id"),
        CONSTRAINT "FK_passkeys_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_passkeys_user" ON "passkeys" ("user_id")`);

    await queryRunner.query(`
      CREATE TABLE "webauthn_challenges" (
        "id" uuid NOT NULL,
        "challenge" varchar(64) NOT NULL,
        "purpose" varchar(16) NOT NULL,
        "user_id" uuid,
        "account_bound" boolean NOT NULL DEFAULT false,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        CONSTRAINT "PK_webauthn_challenges" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_webauthn_challenges_challenge" UNIQUE ("challenge"),
        CONSTRAINT "FK_webauthn_challenges_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE,
        CONSTRAINT "CHK_webauthn_challenges_purpose" CHECK ("purpose" IN ('register', 'login')),
        CONSTRAINT "CHK_webauthn_challenges_register_user" CHECK ("purpose" <> 'register' OR "user_id" IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_webauthn_challenges_user" ON "webauthn_challenges" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_webauthn_challenges_expires_at" ON "webauthn_challenges" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webauthn_challenges"`);
    await queryRunner.query(`DROP TABLE "passkeys"`);
    await queryRunner.query(`DROP TABLE "mfa_challenges"`);
    await queryRunner.query(`DROP TABLE "mfa_recovery_codes"`);
    await queryRunner.query(`DROP TABLE "mfa_totp"`);
  }
}
