import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateProjects1763971200000 implements MigrationInterface {
  name = 'CreateProjects1763971200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "projects" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "owner_id" uuid NOT NULL,
        "name" varchar(100) NOT NULL,
        "description" varchar(1000),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_projects_id" PRIMARY KEY ("id"),
        CONSTRAINT "FK_projects_owner" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    // Serves "my projects, oldest first" and the cascade from users (owner_id leads, so it indexes the foreign key).
    await queryRunner.query(`CREATE INDEX "IDX_projects_owner_created_at" ON "projects" ("owner_id", "created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "projects"`);
  }
}
