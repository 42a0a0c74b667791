import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateMailOutbox1764200000000 implements MigrationInterface {
  name = 'CreateMailOutbox1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mail_outbox" (
        "id" uuid NOT NULL,
        "to" varchar(320) NOT NULL,
        "template" varchar(40) NOT NULL,
        "params" jsonb NOT NULL,
        "user_id" uuid,
        "status" varchar(10) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" varchar(500),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "sent_at" timestamptz,
        CONSTRAINT "PK_mail_outbox_id" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_mail_outbox_status" CHECK ("status" IN ('pending', 'sent', 'failed'))
      )`);
    // The worker's claim (due pending messages, oldest first) and the pending-mail metrics
    // read only pending rows; sent ones pile up until the purge and stay out of this index.
    await queryRunner.query(`CREATE INDEX "IDX_mail_outbox_due" ON "mail_outbox" ("next_attempt_at") WHERE "status" = 'pending'`);
    // Deleting a user (or an address) drops the pending mail to it.
    await queryRunner.query(`CREATE INDEX "IDX_mail_outbox_pending_to" ON "mail_outbox" ("to") WHERE "status" = 'pending'`);
    await queryRunner.query(
      `CREATE INDEX "IDX_mail_outbox_pending_user" ON "mail_outbox" ("user_id") WHERE "status" = 'pending' AND "user_id" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mail_outbox"`);
  }
}
