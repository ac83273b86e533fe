"""Identity by the whole hierarchy (issue 14): series and instances carry their patient, conflicts are kept aside.

- Series.patient and Instance.patient, filled from their study / series, then required.
- (id, patient) unique on studies, series and uploads: what the composite foreign keys below reference.
- On PostgreSQL, composite foreign keys: a series' (study, patient) is a study's (id, patient); an instance's
  (series, patient) a series' and its (upload, patient) an upload's. An instance uploaded for one patient
  can then never sit in another patient's series or study. SQLite has no ALTER TABLE ... ADD CONSTRAINT (and
  Django rebuilds its tables on later changes): there the ingest's lookups by the whole hierarchy hold alone.
- IntakeConflict: files whose UIDs are filed under another patient, study or series, kept aside for review.
"""
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

COMPOSITE_KEYS = (
    ("imaging_series", "imaging_series_study_patient_fk", "study_id, patient_id", "imaging_imagingstudy"),
    ("imaging_instance", "imaging_instance_series_patient_fk", "series_id, patient_id", "imaging_series"),
    ("imaging_instance", "imaging_instance_upload_patient_fk", "upload_id, patient_id", "imaging_upload"),
)


def fill_patients(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        # Updating foreign-key columns queues deferred checks; PostgreSQL refuses the ALTER TABLEs that follow
        # in the same transaction while checks are pending ("pending trigger events"). Check them at once.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Study, Series, Instance = (apps.get_model("imaging", m) for m in ("ImagingStudy", "Series", "Instance"))
    Series.objects.update(patient_id=Subquery(Study.objects.filter(pk=OuterRef("study_id")).values("patient_id")[:1]))
    Instance.objects.update(patient_id=Subquery(Series.objects.filter(pk=OuterRef("series_id")).values("patient_id")[:1]))


def add_composite_keys(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, columns, target in COMPOSITE_KEYS:
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) REFERENCES {target} (id, patient_id)")


def drop_composite_keys(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _columns, _target in COMPOSITE_KEYS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("imaging", "0006_doseresult_ct_events_ssde"),
        ("registry", "0005_visit_recorded_by_blank"),
    ]

    operations = [
        migrations.AddField(
            model_name="series", name="patient",
            field=models.ForeignKey(null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="registry.patient")),
        migrations.AddField(
            model_name="instance", name="patient",
            field=models.ForeignKey(null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="registry.patient")),
        migrations.RunPython(fill_patients, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="series", name="patient",
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.patient")),
        migrations.AlterField(
            model_name="instance", name="patient",
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.patient")),
        migrations.AddConstraint(
            model_name="imagingstudy", constraint=models.UniqueConstraint(fields=("id", "patient"), name="imaging_study_id_patient")),
        migrations.AddConstraint(
            model_name="series", constraint=models.UniqueConstraint(fields=("id", "patient"), name="imaging_series_id_patient")),
        migrations.AddConstraint(
            model_name="upload", constraint=models.UniqueConstraint(fields=("id", "patient"), name="imaging_upload_id_patient")),
        migrations.RunPython(add_composite_keys, drop_composite_keys),
        migrations.CreateModel(
            name="IntakeConflict",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file", models.CharField(help_text="The name the file had in the upload.", max_length=255)),
                ("code", models.CharField(choices=[("study_of_another_patient", "The study UID is filed under another patient"),
                                                   ("series_of_another_study", "The series UID is filed under another study"),
                                                   ("instance_of_another_series", "The instance UID is filed under another series")],
                                          max_length=32)),
                ("study_uid", models.CharField(max_length=64)),
                ("series_uid", models.CharField(max_length=64)),
                ("sop_instance_uid", models.CharField(max_length=64)),
                ("storage_key", models.CharField(max_length=200)),
                ("size", models.PositiveBigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("resolved", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("upload", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="intake_conflicts",
                                             to="imaging.upload")),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
    ]
