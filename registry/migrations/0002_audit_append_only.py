"""Seed the audit chain head and the built-in system actor; make the audit table append-only on PostgreSQL."""
from django.db import migrations

from registry.migrations import _reference_rows

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION registry_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'registry_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_auditevent_no_update_delete ON registry_auditevent;
CREATE TRIGGER registry_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON registry_auditevent
    FOR EACH ROW EXECUTE FUNCTION registry_auditevent_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS registry_auditevent_no_update_delete ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_auditevent_append_only();
"""


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


def seed(apps, schema_editor):
    _reference_rows.chain_head_and_system_user(apps)


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(install_trigger, remove_trigger),
    ]
