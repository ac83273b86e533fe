"""The imaging study's and the upload's trial visit become a foreign key to trials.SubjectVisit.

The column keeps its name (trial_visit_id) and its values: it is converted in place, not dropped and
re-added. An integer that names no visit would break the new constraint, so it is set to NULL first.
"""
import django.db.models.deletion
from django.db import migrations, models


def null_dangling_visits(apps, schema_editor) -> None:
    # A link to a visit that does not exist carries no information and cannot satisfy the foreign key.
    visit_ids = apps.get_model("trials", "SubjectVisit").objects.values("id")
    for name in ("ImagingStudy", "Upload"):
        model = apps.get_model("imaging", name)
        model.objects.filter(trial_visit_id__isnull=False).exclude(trial_visit_id__in=visit_ids).update(trial_visit_id=None)


def _as_named_integer(model_name: str) -> migrations.SeparateDatabaseAndState:
    # State only: the integer field is renamed to the foreign key's name, on the same column, so the
    # AlterField below converts the column in place (adds the constraint and the index) and keeps every value.
    return migrations.SeparateDatabaseAndState(state_operations=[
        migrations.RemoveField(model_name=model_name, name="trial_visit_id"),
        migrations.AddField(model_name=model_name, name="trial_visit",
                            field=models.BigIntegerField(null=True, blank=True, db_column="trial_visit_id")),
    ])


class Migration(migrations.Migration):

    dependencies = [
        ("imaging", "0003_alter_upload_source"),
        ("trials", "0002_deviation_visit"),
    ]

    operations = [
        migrations.RunPython(null_dangling_visits, migrations.RunPython.noop),
        _as_named_integer("imagingstudy"),
        _as_named_integer("upload"),
        migrations.AlterField(
            model_name="imagingstudy",
            name="trial_visit",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="imaging_studies",
                                    to="trials.subjectvisit", verbose_name="trial visit"),
        ),
        migrations.AlterField(
            model_name="upload",
            name="trial_visit",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="trials.subjectvisit", verbose_name="trial visit"),
        ),
    ]
