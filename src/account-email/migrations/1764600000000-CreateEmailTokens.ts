import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tokens of emailed links (src/account-email): verifying an address, resetting a
 * password, confirming a new address. Only a token's SHA-256 is stored; a token is spent
 * by setting `used_at`. Every row goes with its user.
 */
export class CreateEmailTokens1764600000000 implements MigrationInterface {
  name = 'CreateEmailTokens1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "email_tokens" (
        "id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "purpose" varchar(20) NOT NULL,
        "token_hash" varchar(64) NOT NULL,
        "new_email" varchar(254),
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_email_tokens" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_email_tokens_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "CHK_email_tokens_purpose" CHECK ("purpose" IN ('verify_email', 'reset_password', 'change_email')),
        CONSTRAINT "CHK_email_tokens_new_email" CHECK (("purpose" = 'change_email') = ("new_email" IS NOT NULL)),
        CONSTRAINT "FK_email_tokens_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_email_tokens_user" ON "email_tokens" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_email_tokens_expires_at" ON "email_tokens" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "email_tokens"`);
  }
}
