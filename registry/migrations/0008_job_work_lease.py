"""Background work moves to the one engine: a lease (and error code / attempt columns) per row.

Jobs left running by the old engine get a lease from now: if their worker is gone, the stale sweep
recovers them once it expires (before, a running row whose worker died stayed running for ever).
"""
from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def lease_running_rows(apps, schema_editor):  # type: ignore[no-untyped-def]
    model = apps.get_model("registry", "Job")
    now = timezone.now()
    model.objects.filter(status="running").update(lease_expires_at=now + timedelta(seconds=settings.JOB_LEASE_SECONDS))
    model.objects.filter(status="running", started_at__isnull=True).update(started_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0007_user_is_system_actor'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='error_code',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name='job',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='job',
            name='queued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='job',
            name='request_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='job',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(lease_running_rows, migrations.RunPython.noop),
    ]
