"""Segment definitions of the semi-quantitative reads: Curie, SIOPEN and Krenning (reference section 6).

Segment codes are stable identifiers stored with every score; labels are for display (English / Chinese).
"""
from dataclasses import dataclass

VERSION = "score-sheets/nbnm-2026.1"


@dataclass(frozen=True)
class Segment:
    code: str
    label_en: str
    label_zh: str


@dataclass(frozen=True)
class Level:
    value: int
    label_en: str
    label_zh: str


CURIE_SOURCE = "Curie score: Yanik et al., J Nucl Med 2013;54:541 (NBNM reference facts section 6)"
CURIE_SEGMENTS: tuple[Segment, ...] = (
    Segment("head", "Head", "头颅"),
    Segment("cervical_thoracic_spine", "Cervical and thoracic spine", "颈椎和胸椎"),
    Segment("ribs_sternum_scapulae", "Ribs, sternum, scapulae", "肋骨、胸骨、肩胛骨"),
    Segment("lumbar_sacral_spine", "Lumbar and sacral spine", "腰椎和骶椎"),
    Segment("pelvis", "Pelvis", "骨盆"),
    Segment("upper_arms", "Upper arms", "上臂"),
    Segment("lower_arms", "Lower arms", "前臂"),
    Segment("femurs", "Femurs", "股骨"),
    Segment("lower_legs", "Lower legs", "小腿"),
    Segment("soft_tissue", "Soft tissue", "软组织"),
)
CURIE_LEVELS: tuple[Level, ...] = (
    Level(0, "No involvement", "无病灶"),
    Level(1, "One site", "单个病灶"),
    Level(2, "More than one site", "多于一个病灶"),
    Level(3, "More than 50 % of the segment", "累及超过 50% 的节段"),
)
CURIE_CUTOFF = 2  # after induction, Curie > 2 predicts poor event-free survival (3-year EFS 15.4 % vs 44.9 %)

SIOPEN_SOURCE = "SIOPEN score: Lewington et al., EJNMMI 2017; Ladenstein et al., EJNMMI 2018;45:292 (NBNM reference facts section 6)"
SIOPEN_SEGMENTS: tuple[Segment, ...] = (
    Segment("skull", "Skull", "颅骨"),
    Segment("thoracic_cage", "Thoracic cage", "胸廓"),
    Segment("spine", "Spine", "脊柱"),
    Segment("pelvis", "Pelvis", "骨盆"),
    Segment("upper_limb_proximal_right", "Right proximal upper limb", "右上肢近端"),
    Segment("upper_limb_proximal_left", "Left proximal upper limb", "左上肢近端"),
    Segment("upper_limb_distal_right", "Right distal upper limb", "右上肢远端"),
    Segment("upper_limb_distal_left", "Left distal upper limb", "左上肢远端"),
    Segment("lower_limb_proximal_right", "Right proximal lower limb", "右下肢近端"),
    Segment("lower_limb_proximal_left", "Left proximal lower limb", "左下肢近端"),
    Segment("lower_limb_distal_right", "Right distal lower limb", "右下肢远端"),
    Segment("lower_limb_distal_left", "Left distal lower limb", "左下肢远端"),
)
SIOPEN_LEVELS: tuple[Level, ...] = (
    Level(0, "No involvement", "无病灶"),
    Level(1, "One discrete lesion", "1 个散在病灶"),
    Level(2, "Two discrete lesions", "2 个散在病灶"),
    Level(3, "Three discrete lesions", "3 个散在病灶"),
    Level(4, "More than 3 foci, or one diffuse lesion < 50 % of the bone", "多于 3 个病灶，或单个弥漫病灶累及 < 50% 骨"),
    Level(5, "Diffuse involvement of 50-95 % of the bone", "弥漫累及 50-95% 骨"),
    Level(6, "Whole bone involved", "全骨受累"),
)
SIOPEN_CUTOFF = 3  # after induction, SIOPEN > 3 predicts poor event-free survival

KRENNING_SOURCE = "Krenning score for somatostatin-receptor imaging (NBNM reference facts section 6)"
KRENNING_LEVELS: tuple[Level, ...] = (
    Level(0, "No uptake", "无摄取"),
    Level(1, "Uptake below liver", "摄取低于肝脏"),
    Level(2, "Uptake equal to liver", "摄取等于肝脏"),
    Level(3, "Uptake above liver", "摄取高于肝脏"),
    Level(4, "Uptake above spleen/kidneys", "摄取高于脾脏/肾脏"),
)

RESPONSE_REDUCTION = 0.5  # response = reduction of the total by at least 50 % from baseline
