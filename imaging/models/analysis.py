"""Results of the analysis steps of the series pipeline: dose per study, SUV per series, previews, VOIs.

Every computed number is stored with the version of the reference table (nucmed/) that produced it, and
every number that could not be computed is null with the reason next to it ("not available: ..."), so
that a reader never mistakes a missing coefficient for a zero.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel


class DoseResult(ScopedModel):
    """The radiation dose of one imaging study (one exam): radiopharmaceutical and CT.

    Recomputed by the dose step of every series of the study (a CT or a dose SR may arrive later), so
    it always reflects everything received; the per-child history sums these rows.
    """

    class ActivitySource(models.TextChoices):
        DICOM = "dicom", _("DICOM radiopharmaceutical sequence")
        TRIAL_DOSING = "trial_dosing", _("Trial dosing record")
        NONE = "", _("Not available")

    class DlpSource(models.TextChoices):
        SR = "sr", _("CT Radiation Dose SR")
        CTDIVOL = "ctdivol", _("CTDIvol x scan length from the CT images")
        NONE = "", _("Not available")

    study = models.OneToOneField("imaging.ImagingStudy", on_delete=models.PROTECT, related_name="dose")
    tracer = models.CharField(max_length=16, blank=True)
    age_years = models.FloatField(null=True, blank=True, help_text="Age at the exam (registry birth date, study date)")
    weight_kg = models.FloatField(null=True, blank=True)

    # Administered activity, decay-corrected to the administration time.
    activity_source = models.CharField(max_length=16, choices=ActivitySource.choices, blank=True)
    administered_at = models.DateTimeField(null=True, blank=True)
    administered_activity_mbq = models.FloatField(null=True, blank=True)
    recommended_activity_mbq = models.FloatField(null=True, blank=True)
    recommendation_table = models.CharField(max_length=64, blank=True)
    activity_deviation_percent = models.FloatField(null=True, blank=True)
    recommendation_not_available = models.CharField(max_length=300, blank=True)

    # Effective dose of the radiopharmaceutical (age band at the exam).
    radiopharmaceutical_msv = models.FloatField(null=True, blank=True)
    radiopharmaceutical_age_band = models.CharField(max_length=16, blank=True)
    radiopharmaceutical_coefficient = models.FloatField(null=True, blank=True, help_text="mSv/MBq")
    radiopharmaceutical_table = models.CharField(max_length=64, blank=True)
    radiopharmaceutical_not_available = models.CharField(max_length=300, blank=True)

    # CT effective dose from DLP (k-factor by age and body region), with the CTDI phantom the DLP refers to.
    ct_dlp_mgy_cm = models.FloatField(null=True, blank=True)
    ct_dlp_source = models.CharField(max_length=8, choices=DlpSource.choices, blank=True)
    ct_region = models.CharField(max_length=20, blank=True)
    ct_region_source = models.CharField(max_length=40, blank=True)
    ct_phantom_cm = models.PositiveSmallIntegerField(null=True, blank=True)
    ct_k_factor = models.FloatField(null=True, blank=True, help_text="mSv/(mGy cm)")
    ct_msv = models.FloatField(null=True, blank=True)
    ct_table = models.CharField(max_length=64, blank=True)
    ct_not_available = models.CharField(max_length=300, blank=True)
    # One entry per irradiation event (dose SR event or CT series): region, phantom, reported DLP, phantom factor, DLP on
    # the k-factor's basis, k, age band, mSv (or the reason), SSDE; and the mSv per region. Shown on the child's dose page.
    ct_events = models.JSONField(default=list, blank=True)
    ct_by_region = models.JSONField(default=dict, blank=True, help_text="mSv per k-factor region")
    # Size-specific dose estimate (AAPM 204/220) beside the CTDIvol it comes from (the event with the highest CTDIvol).
    ct_ctdivol_mgy = models.FloatField(null=True, blank=True)
    ct_dw_cm = models.FloatField(null=True, blank=True, help_text="Water-equivalent diameter measured on the CT images (AAPM 220)")
    ct_ssde_mgy = models.FloatField(null=True, blank=True)

    total_msv = models.FloatField(null=True, blank=True, help_text="Radiopharmaceutical + CT, of what is available")
    complete = models.BooleanField(default=False, help_text="Both parts available (or no CT in the study)")
    # Inputs and intermediate values for review (decay correction, series used, table rows, ...).
    details = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "study__patient__hospital"

    class Meta:
        ordering = ["study"]

    def __str__(self) -> str:
        return f"dose of study {self.study_id}"


class SuvResult(ScopedModel):
    """Quantification of one PET series: the SUV factors and the whole-series SUVmax, or why there are none."""

    series = models.OneToOneField("imaging.Series", on_delete=models.PROTECT, related_name="suv")
    quantifiable = models.BooleanField(default=False)
    not_quantifiable_reason = models.CharField(max_length=300, blank=True)
    units = models.CharField(max_length=16, blank=True)
    decay_correction = models.CharField(max_length=16, blank=True)
    # Multiply the rescaled pixel value (stored x slope + intercept) by the factor to get the SUV.
    suv_bw_factor = models.FloatField(null=True, blank=True)
    suv_lbm_factor = models.FloatField(null=True, blank=True, help_text="James formula")
    suv_lbm_janma_factor = models.FloatField(null=True, blank=True, help_text="Janmahasatian formula")
    suv_bsa_factor = models.FloatField(null=True, blank=True, help_text="Du Bois body surface area")
    suv_max = models.FloatField(null=True, blank=True, help_text="SUVbw, whole series")
    suv_max_position_mm = models.JSONField(null=True, blank=True, help_text="[x, y, z] LPS, mm")
    method_version = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "series__study__patient__hospital"

    class Meta:
        ordering = ["series"]

    def __str__(self) -> str:
        return f"SUV of series {self.series_id}"


class Preview(ScopedModel):
    """A PNG rendered by the preview step: the coronal MIP or one axial slice."""

    class Kind(models.TextChoices):
        CORONAL_MIP = "coronal_mip", _("Coronal maximum-intensity projection")
        AXIAL = "axial", _("Axial slice")

    series = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="previews")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    index = models.PositiveSmallIntegerField(default=0, help_text="Order among the previews of this kind")
    slice_position_mm = models.FloatField(null=True, blank=True)
    storage_key = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    units = models.CharField(max_length=16, help_text="What the grey levels show: SUV, counts, HU")
    window = models.JSONField(help_text="[low, high] in `units`, mapped to white..black (PET/NM) or black..white (CT)")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "series__study__patient__hospital"

    class Meta:
        ordering = ["series", "kind", "index"]
        constraints = [models.UniqueConstraint(fields=["series", "kind", "index"], name="imaging_preview_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.index} of series {self.series_id}"


class VoiMeasurement(ScopedModel):
    """A volume of interest a reader placed on a PET series, and its SUV statistics."""

    class Kind(models.TextChoices):
        LESION = "lesion", _("Lesion")
        LIVER = "liver", _("Liver (image quality)")
        REFERENCE = "reference", _("Other reference region")

    class Shape(models.TextChoices):
        SPHERE = "sphere", _("Sphere")
        BOX = "box", _("Box")
        # Drawn in the viewer on one image (imaging/services/measurements.py): a length, a 2D region, a probed point.
        LINE = "line", _("Length (viewer)")
        ROI = "roi", _("Region on one image (viewer)")
        POINT = "point", _("Probe (viewer)")

    class Threshold(models.TextChoices):
        # xgettext:no-python-format
        PERCENT_41 = "41pct", _("41 % of SUVmax")  # "% o" is not a placeholder: the comment keeps makemessages from flagging it
        SUV_2_5 = "suv2.5", _("SUV >= 2.5")

    series = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="vois")
    created_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LESION)
    shape = models.CharField(max_length=6, choices=Shape.choices)
    centre_mm = models.JSONField(null=True, blank=True, help_text="Sphere centre [x, y, z], LPS mm")
    radius_mm = models.FloatField(null=True, blank=True)
    box_min_mm = models.JSONField(null=True, blank=True, help_text="Box corner [x, y, z], LPS mm")
    box_max_mm = models.JSONField(null=True, blank=True)
    threshold = models.CharField(max_length=8, choices=Threshold.choices, default=Threshold.PERCENT_41)
    voxels = models.PositiveIntegerField(default=0)
    volume_ml = models.FloatField(null=True, blank=True)
    suv_mean = models.FloatField(null=True, blank=True)
    suv_sd = models.FloatField(null=True, blank=True)
    suv_max = models.FloatField(null=True, blank=True)
    suv_peak = models.FloatField(null=True, blank=True)
    mtv_ml = models.FloatField(null=True, blank=True)
    tlg = models.FloatField(null=True, blank=True)
    cov = models.FloatField(null=True, blank=True, help_text="Coefficient of variation (SD/mean) in the VOI")
    auc_csh = models.FloatField(null=True, blank=True, help_text="Area under the cumulative SUV-volume histogram")
    snr = models.FloatField(null=True, blank=True, help_text="Liver VOI: SUVmean/SD")
    # A viewer measurement: the image it was drawn on, the points (LPS mm) and its length or area. Its SUV values are
    # the viewer's, computed in the browser with the series' stored factor (checked on saving); method_version says so.
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    points_mm = models.JSONField(null=True, blank=True, help_text="[[x, y, z], ...] LPS mm, as drawn in the viewer")
    length_mm = models.FloatField(null=True, blank=True)
    area_mm2 = models.FloatField(null=True, blank=True)
    method_version = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "series__study__patient__hospital"

    class Meta:
        ordering = ["series", "id"]
        verbose_name = _("VOI measurement")

    def __str__(self) -> str:
        return f"{self.kind} VOI {self.pk} on series {self.series_id}"
