"""Keyed audit hashes and the remaining guards of the audit tables on PostgreSQL.

- `hash_version`: events written before this migration keep plain SHA-256 (1) and still verify; new events are
  HMAC-SHA256 with settings.AUDIT_HMAC_KEY (2). Adding the column rewrites no row, so the append-only trigger
  of 0002 is not involved.
- The chain head may only move forward by one, to the event just appended after it; it cannot be deleted, and a
  new head row must start an empty chain. Without this, deleting the newest events and setting the head back
  left a chain that verified.
- TRUNCATE (which row-level triggers do not see) is refused on both tables by a statement-level trigger. Django's
  test runner empties tables with TRUNCATE between transactional tests, so a database named test_* whose session
  sets nbnm.allow_audit_truncate=on (config/settings/test.py) is let through; no production database is named so.
"""
from django.db import migrations, models

TRIGGER_SQL = r"""
CREATE OR REPLACE FUNCTION registry_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_database() LIKE 'test\_%' AND current_setting('nbnm.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_auditevent_no_truncate ON registry_auditevent;
CREATE TRIGGER registry_auditevent_no_truncate
    BEFORE TRUNCATE ON registry_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_refuse_truncate();
DROP TRIGGER IF EXISTS registry_auditchainhead_no_truncate ON registry_auditchainhead;
CREATE TRIGGER registry_auditchainhead_no_truncate
    BEFORE TRUNCATE ON registry_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_refuse_truncate();

CREATE OR REPLACE FUNCTION registry_auditchainhead_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'registry_auditchainhead moves only forward: DELETE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.seq = 0 AND NEW.hash = repeat('0', 64) AND NOT EXISTS (SELECT 1 FROM registry_auditevent) THEN
            RETURN NEW;
        END IF;
        -- A writer that lost the race to create the head: let its INSERT meet the primary key, whose unique
        -- violation tells it to read the head the winner created (it can never add a second head).
        IF EXISTS (SELECT 1 FROM registry_auditchainhead WHERE id = NEW.id) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'registry_auditchainhead: a new head must start an empty chain (INSERT of #% refused)', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND EXISTS (
        SELECT 1 FROM registry_auditevent WHERE seq = NEW.seq AND hash = NEW.hash AND prev_hash = OLD.hash
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'registry_auditchainhead moves only forward to the event just appended: UPDATE #% -> #% refused',
        OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_auditchainhead_forward_only ON registry_auditchainhead;
CREATE TRIGGER registry_auditchainhead_forward_only
    BEFORE INSERT OR UPDATE OR DELETE ON registry_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION registry_auditchainhead_forward_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS registry_auditchainhead_forward_only ON registry_auditchainhead;
DROP FUNCTION IF EXISTS registry_auditchainhead_forward_only();
DROP TRIGGER IF EXISTS registry_auditchainhead_no_truncate ON registry_auditchainhead;
DROP TRIGGER IF EXISTS registry_auditevent_no_truncate ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_audit_refuse_truncate();
"""


def install_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_job_work_lease")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="hash_version",
            # Every event already in the table was hashed with plain SHA-256.
            field=models.PositiveSmallIntegerField(
                choices=[(1, "SHA-256 (legacy, unkeyed)"), (2, "HMAC-SHA256 (keyed)")], default=1, editable=False
            ),
            preserve_default=False,
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
