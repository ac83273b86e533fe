"""The preview step's writes: PNGs in storage and one Preview row per image."""
from django.db import transaction

from imaging import previews, storage
from imaging.models import Preview, Series, SuvResult
from imaging.volume import Volume


def _key(series: Series, item: previews.Rendered) -> str:
    return f"analysis/previews/{series.series_uid}/{item.kind}-{item.index}.png"


def series_previews_render(*, series: Series, volume: Volume) -> list[Preview]:
    """Render and store the previews of one series, replacing earlier ones (re-running changes nothing)."""
    suv = SuvResult.objects.filter(series=series, quantifiable=True).first()
    factor = float(suv.suv_bw_factor) if suv is not None and suv.suv_bw_factor else 1.0
    display = previews.display_for(series.modality, volume.data, quantified=suv is not None)  # SUV: a fixed window
    rendered = previews.render(volume, volume.data, display, scale=factor)
    rows = []
    for item in rendered:
        key = storage.overwrite(_key(series, item), item.png)
        rows.append(Preview(series=series, kind=item.kind, index=item.index, slice_position_mm=item.slice_position_mm,
                            storage_key=key, width=item.width, height=item.height, units=display.units,
                            window=list(display.window)))
    with transaction.atomic():
        Preview.objects.filter(series=series).delete()
        Preview.objects.bulk_create(rows)
    return rows
