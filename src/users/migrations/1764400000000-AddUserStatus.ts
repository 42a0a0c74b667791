import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the contract's user object says of an account beyond its profile: whether its
 * email is verified, whether MFA is on (kept here so that a user object costs no second
 * query), and, for admins, whether it is disabled.
 */
export class AddUserStatus1764400000000 implements MigrationInterface {
  name = 'AddUserStatus1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "email_verified_at" timestamptz`);
    await queryRunner.query(`ALTER TABLE "users" ADD "disabled_at" timestamptz`);
    await queryRunner.query(`ALTER TABLE "users" ADD "mfa_enabled" boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "mfa_enabled"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_at"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_verified_at"`);
  }
}
