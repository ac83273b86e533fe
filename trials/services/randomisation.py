"""Stratified permuted-block randomisation with a concealed, stored allocation list.

The list of a stratum is a sequence of blocks; each block's size is drawn at random from the trial's block
sizes and holds every arm in proportion to its ratio, in random order. The draws come from a generator seeded
with the list's seed and the stratum, so the whole list is reproducible from the seed (for the statistician's
verification) and the same for a stratum whichever strata filled first. Slots are stored as they are needed
and handed out in order under a row lock; no endpoint or admin page shows a slot or the seed.
"""
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, reach
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import Patient, User
from trials.models import AllocationSlot, Arm, RandomisationList, Subject, Trial, TrialSite, Unblinding
from trials.models.trials import STRATIFICATION_FACTORS

BLOCKS_PER_BATCH = 10


@dataclass(frozen=True)
class Block:
    number: int
    arms: tuple[int, ...]  # arm ids in allocation order

    @property
    def size(self) -> int:
        return len(self.arms)


def check_settings(trial: Trial, *, arm_count: int | None) -> None:
    """Refuse allocation settings that cannot work; `arm_count` is checked against block sizes when known."""
    if not trial.randomised:
        return
    sizes = trial.block_sizes
    if not sizes or not all(isinstance(s, int) and s > 0 for s in sizes):
        raise ApplicationError(_("A randomised trial needs block sizes (positive whole numbers)."), code="invalid",
                               fields={"block_sizes": [_("e.g. [2, 4]")]})
    unknown = [f for f in trial.stratify_by if f not in STRATIFICATION_FACTORS]
    if unknown:
        raise ApplicationError(_("Unknown stratification factors: %(factors)s.") % {"factors": ", ".join(map(str, unknown))},
                               code="invalid",
                               fields={"stratify_by": [_("Choose from %(factors)s.") % {"factors": ", ".join(STRATIFICATION_FACTORS)}]})
    if arm_count is not None:
        ratio_total = sum(trial.arms.values_list("ratio", flat=True)) if trial.pk else arm_count
        if arm_count < 2:
            raise ApplicationError(_("A randomised trial needs at least two arms."), code="invalid")
        bad = [s for s in sizes if s % ratio_total]
        if bad:
            raise ApplicationError(_("Block sizes %(sizes)s are not multiples of the allocation ratio total %(total)s.")
                                   % {"sizes": bad, "total": ratio_total},
                                   code="invalid", fields={"block_sizes": [_("Multiples of the ratio total.")]})


def generate_blocks(*, seed: int, stratum: str, arms: Sequence[tuple[int, int]], block_sizes: Sequence[int],
                    count: int) -> list[Block]:
    """The first `count` blocks of a stratum's list. `arms` is [(arm id, ratio)], in a fixed order."""
    rng = random.Random(f"{seed}:{stratum}")
    ratio_total = sum(r for _, r in arms)
    blocks = []
    for number in range(1, count + 1):
        size = rng.choice(list(block_sizes))
        content = [arm for arm, ratio in arms for _ in range(size // ratio_total * ratio)]
        rng.shuffle(content)
        blocks.append(Block(number, tuple(content)))
    return blocks


def stratum_of(trial: Trial, site: TrialSite, patient: Patient) -> str:
    """The stratum key, e.g. "site=02|inrg_risk=high" (unstratified trials have one stratum, "all")."""
    parts = []
    for factor in trial.stratify_by:
        value = site.site_number if factor == "site" else getattr(patient, factor) or "unknown"
        parts.append(f"{factor}={value}")
    return "|".join(parts) or "all"


def ensure_list(*, actor: User, trial: Trial, seed: int | None = None) -> RandomisationList:
    """The trial's list, created with a fresh secret seed (or a given one, for tests and verification)."""
    existing = RandomisationList.objects.filter(trial=trial).first()
    if existing is not None:
        return existing
    listing = RandomisationList.objects.create(trial=trial, seed=secrets.randbits(62) if seed is None else seed,
                                               block_sizes=list(trial.block_sizes))
    # The event records that a list exists, never its seed.
    audit_record(actor=actor, action="randomisation_list_create", object_type="trials.randomisationlist",
                 object_id=listing.pk, after={"trial": trial.pk, "block_sizes": listing.block_sizes}, trial_id=trial.pk)
    return listing


def _extend(listing: RandomisationList, stratum: str) -> None:
    arms = list(Arm.objects.filter(trial_id=listing.trial_id).order_by("code").values_list("pk", "ratio"))
    made = AllocationSlot.objects.filter(randomisation_list=listing, stratum=stratum).aggregate(
        blocks=Max("block_number"), position=Max("position"))
    have_blocks, position = made["blocks"] or 0, made["position"] or 0
    blocks = generate_blocks(seed=listing.seed, stratum=stratum, arms=arms, block_sizes=listing.block_sizes,
                             count=have_blocks + BLOCKS_PER_BATCH)[have_blocks:]
    slots = []
    for block in blocks:
        for arm_id in block.arms:
            position += 1
            slots.append(AllocationSlot(randomisation_list=listing, stratum=stratum, position=position,
                                        block_number=block.number, block_size=block.size, arm_id=arm_id))
    AllocationSlot.objects.bulk_create(slots)


def allocate(*, actor: User, subject: Subject) -> Arm:
    """Give the subject the next free slot of its stratum. Called by the enrolment service, in its transaction.

    The list row is locked (SELECT ... FOR UPDATE) so concurrent enrolments in one trial take slots one at a time.
    """
    listing = RandomisationList.objects.select_for_update().filter(trial_id=subject.trial_id).first()
    if listing is None:
        listing = ensure_list(actor=actor, trial=subject.trial)
        listing = RandomisationList.objects.select_for_update().get(pk=listing.pk)
    free = AllocationSlot.objects.filter(randomisation_list=listing, stratum=subject.stratum, subject__isnull=True)
    slot = free.order_by("position").first()
    if slot is None:
        _extend(listing, subject.stratum)
        slot = free.order_by("position").first()
    assert slot is not None
    slot.subject = subject
    slot.allocated_at = timezone.now()
    slot.save(update_fields=["subject", "allocated_at"])
    # The slot position lets the statistician check the allocation against the list; the arm itself is recorded only
    # when the trial is open-label (the trail is read by monitors, who must stay blind).
    after: dict[str, object] = {"stratum": subject.stratum, "slot_position": slot.position}
    if not subject.trial.blinded:
        after["arm"] = slot.arm_id
    audit_record(actor=actor, action="allocate", object_type="trials.subject", object_id=subject.pk, after=after,
                 hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    return slot.arm


def unblinding_refusal(actor: User, subject: Subject) -> ApplicationError | None:
    """Why `actor` may not unblind `subject` now, or None when they may: the one rule behind the service and the
    subject page's "Unblind" panel. `subject` must carry its site and trial (and, to save a query, its unblinding)."""
    # Rule.UNBLIND: a data manager of the subject's hospital (or of every hospital), nobody else.
    if not reach(actor, Rule.UNBLIND).covers(hospital_id=subject.site.hospital_id):
        return ApplicationError(_("Only a data manager of the subject's hospital may unblind."), code="not_allowed")
    if not subject.trial.blinded:
        return ApplicationError(_("This trial is not blinded: the arm is already shown."), code="not_blinded")
    if subject.arm_id is None:
        return ApplicationError(_("This subject has no allocation to unblind."), code="not_allocated")
    if hasattr(subject, "unblinding"):
        return ApplicationError(_("This subject has already been unblinded."), code="already_unblinded")
    return None


@transaction.atomic
def subject_unblind(*, actor: User, subject: Subject, reason: str) -> Unblinding:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Unblinding needs a reason."), code="reason_required",
                               fields={"reason": [_("This field is required.")]})
    # Locked, so that two data managers unblinding at once get one Unblinding and one "already unblinded".
    subject = (Subject.objects.restrict(actor, Action.VIEW).select_for_update(of=("self",)).filter(pk=subject.pk)
               .select_related("trial", "site").first())
    if subject is None:
        raise ApplicationError(_("Only a data manager of the subject's hospital may unblind."), code="not_allowed")
    refusal = unblinding_refusal(actor, subject)
    if refusal is not None:
        raise refusal
    unblinding = Unblinding.objects.create(subject=subject, unblinded_by=actor, reason=reason, unblinded_at=timezone.now())
    audit_record(actor=actor, action="unblind", instance=unblinding, after={"subject": subject.pk, "arm": subject.arm_id},
                 reason=reason, hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    return unblinding
