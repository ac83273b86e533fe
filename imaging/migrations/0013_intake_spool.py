"""The deferred-upload spool moves from the instance store into the database (IntakeSpool, one row per waiting receipt).

Receipts still waiting when this runs keep their file: its encrypted bytes are copied into their IntakeSpool row. Once
the migration has committed, everything under the store's old `spool/` folder is deleted: the copied blobs, and the ones
whose deletion was lost or that no receipt names (a crash between the write and the row), which nothing reads any more.
A copy that rolls back leaves the folder as it was. A waiting receipt whose blob is already gone gets no row and is
refused `spool_unreadable` when filed, as it would have been.
"""
from collections.abc import Iterator

import django.db.models.deletion
from django.core.files.storage import default_storage
from django.db import migrations, models, transaction

SPOOL = "spool"


def _walk(prefix: str) -> Iterator[str]:
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    yield from (f"{prefix}/{name}" for name in files)
    for name in dirs:
        yield from _walk(f"{prefix}/{name}")


def _spool_into_rows(apps, schema_editor):  # type: ignore[no-untyped-def]
    receipt_model, spool_model = apps.get_model("imaging", "IntakeReceipt"), apps.get_model("imaging", "IntakeSpool")
    for receipt in receipt_model.objects.filter(state__in=["received", "filing"]).only("pk", "spool_key").iterator():
        try:
            with default_storage.open(receipt.spool_key, "rb") as blob:
                spool_model.objects.create(receipt_id=receipt.pk, data=blob.read())
        except FileNotFoundError:
            continue
    left = list(_walk(SPOOL))
    transaction.on_commit(lambda: [default_storage.delete(key) for key in left])


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0012_intake_receipt'),
    ]

    operations = [
        migrations.CreateModel(
            name='IntakeSpool',
            fields=[
                ('receipt', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='spool', serialize=False, to='imaging.intakereceipt')),
                ('data', models.BinaryField()),
            ],
        ),
        migrations.RunPython(_spool_into_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='intakereceipt',
            name='spool_key',
        ),
    ]
