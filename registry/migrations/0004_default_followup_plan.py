from django.db import migrations

DEFAULT_RULES = [
    {"until_month": 24, "every_months": 3},
    {"until_month": 60, "every_months": 6},
    {"until_month": None, "every_months": 12},
]


def create_default_plan(apps, schema_editor):
    apps.get_model("registry", "FollowUpPlan").objects.get_or_create(
        name="Registry default", defaults={"rules": DEFAULT_RULES, "window_days": 14, "horizon_years": 10, "is_default": True}
    )


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_patients_consent_followup")]
    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
