from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("imaging", "0005_series_pipeline_work_lease"),
    ]

    operations = [
        migrations.AddField(model_name="doseresult", name="ct_events", field=models.JSONField(blank=True, default=list)),
        migrations.AddField(model_name="doseresult", name="ct_by_region",
                            field=models.JSONField(blank=True, default=dict, help_text="mSv per k-factor region")),
        migrations.AddField(model_name="doseresult", name="ct_ctdivol_mgy", field=models.FloatField(blank=True, null=True)),
        migrations.AddField(model_name="doseresult", name="ct_dw_cm",
                            field=models.FloatField(blank=True, null=True,
                                                    help_text="Water-equivalent diameter measured on the CT images (AAPM 220)")),
        migrations.AddField(model_name="doseresult", name="ct_ssde_mgy", field=models.FloatField(blank=True, null=True)),
    ]
