"""Schematic front-view body diagram for the Curie and SIOPEN score sheets.

The segments (codes, labels, levels) are nucmed's (`nucmed.scoring.SYSTEMS`); this module only says which drawn shapes
make up each segment and which colour each score gets. The table stays the way to enter scores: the diagram is a view
of it, drawn by the server from the saved/typed values and recoloured by the page's script as scores are chosen.

Front (anterior) view: the patient's right is on the viewer's left, as on an anterior planar image.
"""
import json
from typing import Any

from django.utils.translation import gettext as _

from nucmed import scoring

WIDTH, HEIGHT = 240, 410

# Drawn shapes (SVG elements without fill: the region's <g> carries the fill, so recolouring touches one attribute).
_SHAPES: dict[str, str] = {
    "head": '<ellipse cx="100" cy="38" rx="26" ry="31"/>',
    "spine_upper": '<rect x="94" y="70" width="12" height="100" rx="3"/>',
    "spine_lower": '<rect x="94" y="170" width="12" height="52" rx="3"/>',
    "chest_right": '<path d="M92 84 C70 84 60 96 58 118 C56 140 62 160 92 166 Z"/>',
    "chest_left": '<path d="M108 84 C130 84 140 96 142 118 C144 140 138 160 108 166 Z"/>',
    "pelvis": '<path d="M92 214 C72 208 60 218 62 236 C64 252 80 262 100 262 C120 262 136 252 138 236 C140 218 128 208 108 214 Z"/>',
    "humerus_right": '<rect x="40" y="86" width="14" height="80" rx="6" transform="rotate(8 47 126)"/>',
    "humerus_left": '<rect x="146" y="86" width="14" height="80" rx="6" transform="rotate(-8 153 126)"/>',
    "forearm_right": '<rect x="28" y="172" width="14" height="78" rx="6" transform="rotate(6 35 211)"/>',
    "forearm_left": '<rect x="158" y="172" width="14" height="78" rx="6" transform="rotate(-6 165 211)"/>',
    "femur_right": '<rect x="72" y="266" width="18" height="66" rx="7"/>',
    "femur_left": '<rect x="110" y="266" width="18" height="66" rx="7"/>',
    "leg_right": '<rect x="74" y="338" width="15" height="64" rx="6"/>',
    "leg_left": '<rect x="111" y="338" width="15" height="64" rx="6"/>',
    "soft_tissue_box": '<rect x="178" y="330" width="56" height="40" rx="4"/>',
}

# Segment code -> shapes, per scheme. Every segment of the scheme must have a region (checked in `diagram`).
REGIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "curie": {
        "head": ("head",),
        "cervical_thoracic_spine": ("spine_upper",),
        "ribs_sternum_scapulae": ("chest_right", "chest_left"),
        "lumbar_sacral_spine": ("spine_lower",),
        "pelvis": ("pelvis",),
        "upper_arms": ("humerus_right", "humerus_left"),
        "lower_arms": ("forearm_right", "forearm_left"),
        "femurs": ("femur_right", "femur_left"),
        "lower_legs": ("leg_right", "leg_left"),
        "soft_tissue": ("soft_tissue_box",),
    },
    "siopen": {
        "skull": ("head",),
        "thoracic_cage": ("chest_right", "chest_left"),
        "spine": ("spine_upper", "spine_lower"),
        "pelvis": ("pelvis",),
        "upper_limb_proximal_right": ("humerus_right",),
        "upper_limb_proximal_left": ("humerus_left",),
        "upper_limb_distal_right": ("forearm_right",),
        "upper_limb_distal_left": ("forearm_left",),
        "lower_limb_proximal_right": ("femur_right",),
        "lower_limb_proximal_left": ("femur_left",),
        "lower_limb_distal_right": ("leg_right",),
        "lower_limb_distal_left": ("leg_left",),
    },
}
# Drawn after the others so the spine lies over the chest and pelvis.
_ON_TOP = ("spine_upper", "spine_lower")

UNSCORED_FILL = "#ffffff"
# Sequential (ColorBrewer YlOrRd): 0 is a pale neutral, then yellow to dark red up to the scheme's maximum.
ZERO_FILL = "#dde3ea"
_RAMP = ("#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")


def palette(max_per_segment: int) -> dict[str, str]:
    """Fill per score ("" = not scored): 0 neutral, 1..max spread over the ramp (the maximum is always the darkest)."""
    fills = {"": UNSCORED_FILL, "0": ZERO_FILL}
    for value in range(1, max_per_segment + 1):
        index = 0 if max_per_segment == 1 else round((value - 1) * (len(_RAMP) - 1) / (max_per_segment - 1))
        fills[str(value)] = _RAMP[index]
    return fills


def title(label: str, score: str) -> str:
    return _("%(segment)s: %(score)s") % {"segment": label, "score": score if score != "" else _("not scored")}


def diagram(kind: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """The diagram for a sheet: `segments` are the page's rows (code, label, value as typed/saved, levels)."""
    system = scoring.SYSTEMS[kind]
    shapes_of = REGIONS[kind]
    missing = set(system.segment_codes) - set(shapes_of)
    if missing:
        raise ValueError(f"no diagram region for {kind} segment(s) {sorted(missing)}")
    fills = palette(system.max_per_segment)
    regions = []
    for seg in segments:
        score = str(seg["value"]) if str(seg["value"]) in fills else ""
        names = shapes_of[seg["code"]]
        regions.append({"code": seg["code"], "label": seg["label"], "score": score, "fill": fills[score],
                        "title": title(seg["label"], score), "svg": "".join(_SHAPES[n] for n in names),
                        "on_top": any(n in _ON_TOP for n in names)})
    regions.sort(key=lambda r: r["on_top"])  # stable: table order otherwise
    legend = [{"score": "", "fill": UNSCORED_FILL, "label": _("Not scored")}]
    legend += [{"score": str(lv["value"]), "fill": fills[str(lv["value"])], "label": lv["label"]} for lv in segments[0]["levels"]]
    return {"width": WIDTH, "height": HEIGHT, "regions": regions, "palette": fills, "palette_json": json.dumps(fills),
            "legend": legend,
            "title_pattern": _("%(segment)s: %(score)s"), "not_scored": _("not scored"),
            "soft_tissue": "soft_tissue" in shapes_of}
