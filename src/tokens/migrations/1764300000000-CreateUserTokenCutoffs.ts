import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-user "not before" times for access tokens (a role change or a disabling revokes
 * every earlier token of the user), kept only while such a token can live: read at start
 * and after a reconnect by RevocationService. No foreign key: a deleted user's cut-off
 * must outlive the user's row for as long as the user's tokens could.
 */
export class CreateUserTokenCutoffs1764300000000 implements MigrationInterface {
  name = 'CreateUserTokenCutoffs1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "user_token_cutoffs" (
        "user_id" uuid NOT NULL,
        "not_before" timestamptz NOT NULL,
        "forget_at" timestamptz NOT NULL,
        CONSTRAINT "PK_user_token_cutoffs" PRIMARY KEY ("user_id")
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_user_token_cutoffs_forget_at" ON "user_token_cutoffs" ("forget_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "user_token_cutoffs"`);
  }
}
