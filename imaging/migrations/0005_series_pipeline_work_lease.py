"""Background work moves to the one engine: a lease (and error code / attempt columns) per row.

Series left running by the old engine get a lease from now: if their worker is gone, the stale sweep
recovers them once it expires (before, a running row whose worker died stayed running for ever).
"""
from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def lease_running_rows(apps, schema_editor):  # type: ignore[no-untyped-def]
    model = apps.get_model("imaging", "Series")
    now = timezone.now()
    model.objects.filter(pipeline_state="running").update(pipeline_lease_expires_at=now + timedelta(seconds=settings.JOB_LEASE_SECONDS))
    model.objects.filter(pipeline_state="running", pipeline_started_at__isnull=True).update(pipeline_started_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0004_trial_visit_foreign_key'),
    ]

    operations = [
        migrations.AddField(
            model_name='series',
            name='pipeline_attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='series',
            name='pipeline_lease_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='series',
            name='pipeline_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(lease_running_rows, migrations.RunPython.noop),
    ]
