from django.db import migrations

from registry.migrations import _reference_rows


def create_default_plan(apps, schema_editor):
    _reference_rows.default_plan(apps)


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_patients_consent_followup")]
    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
