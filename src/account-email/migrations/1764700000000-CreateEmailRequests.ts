import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Requests for an emailed link, written as they are answered and handled in the background
 * (src/account-email/email-requests.worker.ts): a row lives for the seconds until then.
 */
export class CreateEmailRequests1764700000000 implements MigrationInterface {
  name = 'CreateEmailRequests1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "email_requests" (
        "id" uuid NOT NULL,
        "kind" varchar(20) NOT NULL,
        "email" varchar(254) NOT NULL,
        "client" jsonb NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_email_requests" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_email_requests_kind" CHECK ("kind" IN ('verify_email', 'reset_password'))
      )`);
    // The worker takes the oldest of those that failed least: one that keeps failing goes behind the others.
    await queryRunner.query(`CREATE INDEX "IDX_email_requests_attempts_created_at" ON "email_requests" ("attempts", "created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "email_requests"`);
  }
}
