import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit trail (src/audit): the chained events, the chain's two ends, and the append-only trigger. */
export class CreateAuditEvents1764100000000 implements MigrationInterface {
  name = 'CreateAuditEvents1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // No foreign key to users: the events outlive the account (with its id and nothing else that identifies it).
    await queryRunner.query(`
      CREATE TABLE "audit_events" (
        "id" uuid NOT NULL,
        "seq" bigint NOT NULL,
        "type" varchar(64) NOT NULL,
        "user_id" uuid,
        "actor_id" uuid,
        "ip" varchar(64),
        "user_agent" varchar(512),
        "request_id" varchar(64),
        "created_at" timestamptz NOT NULL,
        "data" jsonb NOT NULL,
        "pii_salt" varchar(32),
        "pii_digest" varchar(64) NOT NULL,
        "prev_hash" varchar(64) NOT NULL,
        "hash" varchar(64) NOT NULL,
        CONSTRAINT "PK_audit_events_id" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_audit_events_seq" UNIQUE ("seq")
      )`);
    // A user's events and one type's events, newest first (scanned backwards); the export's time range.
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_user_seq" ON "audit_events" ("user_id", "seq")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_type_seq" ON "audit_events" ("type", "seq")`);
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_created_at" ON "audit_events" ("created_at")`);

    await queryRunner.query(`
      CREATE TABLE "audit_chain" (
        "name" varchar(10) NOT NULL,
        "seq" bigint NOT NULL,
        "hash" varchar(64) NOT NULL,
        "event_id" uuid,
        CONSTRAINT "PK_audit_chain_name" PRIMARY KEY ("name"),
        CONSTRAINT "CHK_audit_chain_name" CHECK ("name" IN ('head', 'anchor'))
      )`);
    await queryRunner.query(`INSERT INTO "audit_chain" ("name", "seq", "hash") VALUES ('head', 0, repeat('0', 64)), ('anchor', 0, repeat('0', 64))`);

    // Against accidents, not attackers (an owner can disable it; the hash chain is what finds
    // that): rows are never changed, deleted only by the purge (which sets audit.purging for
    // its transaction), and updated only to blank a deleted user's IP, user agent and salt.
    await queryRunner.query(`
      CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.purging', true) = 'on' THEN
          RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' THEN
          IF NEW."ip" IS NULL AND NEW."user_agent" IS NULL AND NEW."pii_salt" IS NULL
             AND to_jsonb(NEW) - 'ip' - 'user_agent' - 'pii_salt' = to_jsonb(OLD) - 'ip' - 'user_agent' - 'pii_salt' THEN
            RETURN NEW;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events"
      FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_chain"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
    await queryRunner.query(`DROP FUNCTION "audit_events_append_only"()`);
  }
}
