import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateRefreshTokens1763884800000 implements MigrationInterface {
  name = 'CreateRefreshTokens1763884800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "refresh_tokens" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "family_id" uuid NOT NULL,
        "parent_id" uuid,
        "token_hash" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz,
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" varchar(20),
        "user_agent" varchar(512),
        "ip" varchar(64),
        CONSTRAINT "PK_refresh_tokens_id" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_refresh_tokens_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "FK_refresh_tokens_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE,
        CONSTRAINT "CHK_refresh_tokens_revocation" CHECK (("revoked_at" IS NULL) = ("revoked_reason" IS NULL)),
        CONSTRAINT "CHK_refresh_tokens_reason" CHECK ("revoked_reason" IN
          ('rotated', 'logout', 'logout_all', 'session_revoked', 'password_changed', 'reuse_detected'))
      )`);
    // Lookups: by hash (the unique constraint), by family (revoke, purge), live tokens by user (sessions, logout-all).
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_family" ON "refresh_tokens" ("family_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_user_live" ON "refresh_tokens" ("user_id") WHERE "revoked_at" IS NULL`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_expires_at" ON "refresh_tokens" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "refresh_tokens"`);
  }
}
