"""The built-in system actor is recognised by a flag (registry.access), no longer by its username."""
from typing import Any

from django.db import migrations, models

from registry.migrations import _reference_rows


def flag(apps: Any, schema_editor: Any) -> None:
    _reference_rows.flag_system_actor(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0006_hospital_dosage_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="is_system_actor",
            field=models.BooleanField(default=False, editable=False, verbose_name="system actor"),
        ),
        migrations.RunPython(flag, migrations.RunPython.noop),
    ]
