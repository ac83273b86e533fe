# Viewer measurements saved as VOI records (imaging/services/measurements.py): three shapes drawn on one image, the image,
# the points and the length or area. Written by hand while the tree's URL modules did not import; checked with
# `makemigrations imaging --check` once they did.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imaging', '0008_dicom_network_nodes_unmatched_worklist'),
    ]

    operations = [
        migrations.AddField(
            model_name='voimeasurement',
            name='area_mm2',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='voimeasurement',
            name='length_mm',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='voimeasurement',
            name='points_mm',
            field=models.JSONField(blank=True, help_text='[[x, y, z], ...] LPS mm, as drawn in the viewer', null=True),
        ),
        migrations.AddField(
            model_name='voimeasurement',
            name='sop_instance_uid',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='voimeasurement',
            name='shape',
            field=models.CharField(choices=[('sphere', 'Sphere'), ('box', 'Box'), ('line', 'Length (viewer)'), ('roi', 'Region on one image (viewer)'), ('point', 'Probe (viewer)')], max_length=6),
        ),
    ]
