import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions get a row of their own, which rotation and revocation both lock: with
 * revocation marked on token rows, a refresh racing a logout could insert a successor
 * that the logout's UPDATE never saw. A refresh token is now usable only while its
 * session's row is not revoked, and `refresh_tokens.family_id` becomes `session_id`.
 *
 * Existing data is carried: one session per family, opened when its first token was,
 * last used when its newest one was issued, expiring with its newest one, revoked when
 * no token of it is live (with the reason and time of the revocation that ended it).
 * Spent tokens keep the time they were spent, so that a replay is still reuse.
 */
export class CreateSessions1764115200000 implements MigrationInterface {
  name = 'CreateSessions1764115200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sessions" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" varchar(20),
        "user_agent" varchar(512),
        "ip" varchar(64),
        "amr" text[] NOT NULL DEFAULT '{pwd}',
        "aal" smallint NOT NULL DEFAULT 1,
        CONSTRAINT "PK_sessions_id" PRIMARY KEY ("id"),
        CONSTRAINT "FK_sessions_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE,
        CONSTRAINT "CHK_sessions_revocation" CHECK (("revoked_at" IS NULL) = ("revoked_reason" IS NULL)),
        CONSTRAINT "CHK_sessions_revoked_reason" CHECK ("revoked_reason" IN ('logout', 'logout_all', 'session_revoked',
          'password_changed', 'reuse_detected', 'password_reset', 'user_disabled', 'admin_revoked')),
        CONSTRAINT "CHK_sessions_aal" CHECK ("aal" IN (1, 2))
      )`);
    // A user's sessions (listing, logout-all, the cascade from users); the purge; the revocations to reload at start.
    await queryRunner.query(`CREATE INDEX "IDX_sessions_user" ON "sessions" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_sessions_expires_at" ON "sessions" ("expires_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_sessions_revoked_at" ON "sessions" ("revoked_at") WHERE "revoked_at" IS NOT NULL`);

    await queryRunner.query(`
      INSERT INTO "sessions" ("id", "user_id", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason", "user_agent", "ip")
      SELECT family."family_id", newest."user_id", family."created_at", newest."created_at", family."expires_at",
             CASE WHEN family."live" THEN NULL ELSE coalesce(ended."revoked_at", family."last_revoked_at") END,
             -- A family whose every token was rotated has lost its current one: it cannot be refreshed, so it ended.
             CASE WHEN family."live" THEN NULL ELSE coalesce(ended."revoked_reason", 'session_revoked') END,
             newest."user_agent", newest."ip"
        FROM (SELECT "family_id", min("created_at") AS "created_at", max("expires_at") AS "expires_at",
                     bool_or("revoked_at" IS NULL) AS "live", max("revoked_at") AS "last_revoked_at"
                FROM "refresh_tokens" GROUP BY "family_id") family
        CROSS JOIN LATERAL (SELECT "user_id", "created_at", "user_agent", "ip" FROM "refresh_tokens" t
                             WHERE t."family_id" = family."family_id" ORDER BY t."created_at" DESC, t."id" LIMIT 1) newest
        LEFT JOIN LATERAL (SELECT "revoked_at", "revoked_reason" FROM "refresh_tokens" t
                            WHERE t."family_id" = family."family_id" AND t."revoked_reason" <> 'rotated'
                            ORDER BY t."revoked_at" DESC LIMIT 1) ended ON true`);

    await queryRunner.query(`ALTER TABLE "refresh_tokens" RENAME COLUMN "family_id" TO "session_id"`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "spent_at" timestamptz`);
    await queryRunner.query(`UPDATE "refresh_tokens" SET "spent_at" = "revoked_at" WHERE "revoked_reason" = 'rotated'`);
    await queryRunner.query(`DROP INDEX "IDX_refresh_tokens_family"`);
    await queryRunner.query(`DROP INDEX "IDX_refresh_tokens_user_live"`);
    await queryRunner.query(`DROP INDEX "IDX_refresh_tokens_expires_at"`);
    // The session holds the user, the revocation and the client; a token row only its spending.
    await queryRunner.query(`
      ALTER TABLE "refresh_tokens"
        DROP CONSTRAINT "FK_refresh_tokens_user",
        DROP CONSTRAINT "CHK_refresh_tokens_revocation",
        DROP CONSTRAINT "CHK_refresh_tokens_reason",
        DROP COLUMN "user_id",
        DROP COLUMN "last_used_at",
        DROP COLUMN "revoked_at",
        DROP COLUMN "revoked_reason",
        DROP COLUMN "user_agent",
        DROP COLUMN "ip",
        ADD CONSTRAINT "FK_refresh_tokens_session" FOREIGN KEY ("session_id") REFERENCES "sessions" ("id") ON DELETE CASCADE`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_session" ON "refresh_tokens" ("session_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_refresh_tokens_session"`);
    await queryRunner.query(`
      ALTER TABLE "refresh_tokens"
        DROP CONSTRAINT "FK_refresh_tokens_session",
        ADD "user_id" uuid,
        ADD "last_used_at" timestamptz,
        ADD "revoked_at" timestamptz,
        ADD "revoked_reason" varchar(20),
        ADD "user_agent" varchar(512),
        ADD "ip" varchar(64)`);
    // Spent tokens are rotated; a revoked session's current token gets the session's reason.
    await queryRunner.query(`
      UPDATE "refresh_tokens" t
         SET "user_id" = s."user_id", "user_agent" = s."user_agent", "ip" = s."ip",
             "last_used_at" = t."spent_at",
             "revoked_at" = coalesce(t."spent_at", s."revoked_at"),
             "revoked_reason" = CASE WHEN t."spent_at" IS NOT NULL THEN 'rotated'
                                     WHEN s."revoked_reason" IN ('logout', 'logout_all', 'session_revoked', 'password_changed', 'reuse_detected')
                                       THEN s."revoked_reason"
                                     WHEN s."revoked_at" IS NOT NULL THEN 'session_revoked' END
        FROM "sessions" s WHERE s."id" = t."session_id"`);
    await queryRunner.query(`
      ALTER TABLE "refresh_tokens"
        DROP COLUMN "spent_at",
        ALTER COLUMN "user_id" SET NOT NULL,
        ADD CONSTRAINT "FK_refresh_tokens_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE,
        ADD CONSTRAINT "CHK_refresh_tokens_revocation" CHECK (("revoked_at" IS NULL) = ("revoked_reason" IS NULL)),
        ADD CONSTRAINT "CHK_refresh_tokens_reason" CHECK ("revoked_reason" IN
          ('rotated', 'logout', 'logout_all', 'session_revoked', 'password_changed', 'reuse_detected'))`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" RENAME COLUMN "session_id" TO "family_id"`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_family" ON "refresh_tokens" ("family_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_user_live" ON "refresh_tokens" ("user_id") WHERE "revoked_at" IS NULL`);
    await queryRunner.query(`CREATE INDEX "IDX_refresh_tokens_expires_at" ON "refresh_tokens" ("expires_at")`);
    await queryRunner.query(`DROP TABLE "sessions"`);
  }
}
