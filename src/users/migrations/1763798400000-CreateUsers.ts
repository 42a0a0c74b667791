import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateUsers1763798400000 implements MigrationInterface {
  name = 'CreateUsers1763798400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // gen_random_uuid() is built into PostgreSQL 13+ and PGlite: no extension needed.
    await queryRunner.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" varchar(254) NOT NULL,
        "password_hash" varchar(100) NOT NULL,
        "display_name" varchar(100),
        "roles" text[] NOT NULL DEFAULT '{user}',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_users_id" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_users_email" UNIQUE ("email"),
        CONSTRAINT "CHK_users_email_normalised" CHECK ("email" = lower(btrim("email")))
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_users_created_at" ON "users" ("created_at", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
