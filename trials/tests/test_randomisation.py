"""Stratified permuted blocks: block structure, balance within strata, reproducible from the seed; unblinding."""
from collections import Counter

import pytest

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.models import AllocationSlot, RandomisationList, Trial, Unblinding
from trials.services.enrolment import subject_status_change
from trials.services.randomisation import generate_blocks, subject_unblind
from trials.tests.builders import enrol, make_trial

ARMS = [(11, 1), (12, 1)]


def test_blocks_hold_each_arm_equally_and_use_both_sizes() -> None:
    blocks = generate_blocks(seed=7, stratum="site=01|inrg_risk=high", arms=ARMS, block_sizes=[2, 4], count=200)
    assert {b.size for b in blocks} == {2, 4}
    for block in blocks:
        assert Counter(block.arms) == {11: block.size // 2, 12: block.size // 2}
    # Random order inside the blocks of four: more than one of the six permutations occurs.
    assert len({b.arms for b in blocks if b.size == 4}) > 1


def test_unequal_ratio_blocks() -> None:
    blocks = generate_blocks(seed=3, stratum="all", arms=[(1, 2), (2, 1)], block_sizes=[3, 6], count=50)
    assert all(Counter(b.arms) == {1: b.size * 2 // 3, 2: b.size // 3} for b in blocks)


def test_the_list_is_reproducible_from_the_seed_and_differs_between_seeds_and_strata() -> None:
    def first(seed: int, stratum: str) -> list[tuple[int, ...]]:
        return [b.arms for b in generate_blocks(seed=seed, stratum=stratum, arms=ARMS, block_sizes=[2, 4], count=30)]

    assert first(42, "s1") == first(42, "s1")
    assert first(42, "s1") != first(43, "s1")
    assert first(42, "s1") != first(42, "s2")
    # More blocks extend the same list: generating in batches gives the same slots as generating at once.
    assert first(42, "s1")[:10] == [b.arms for b in generate_blocks(seed=42, stratum="s1", arms=ARMS, block_sizes=[2, 4], count=10)]


@pytest.fixture
def randomised(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b], code="DOTA-R", randomised=True,
                      arms=(("LOW", 50), ("STD", 100)), blinded=True)


def test_enrolment_allocates_from_the_stored_list_balanced_within_strata(actors: Actors, randomised: Trial) -> None:
    subjects = [enrol(actors.coordinator_a, randomised, actors.hospital_a, inrg_risk=risk)
                for risk in ["high"] * 9 + ["low"] * 5]
    subjects += [enrol(actors.coordinator_b, randomised, actors.hospital_b, inrg_risk="high") for _ in range(4)]
    listing = RandomisationList.objects.get(trial=randomised)
    by_stratum: dict[str, list] = {}
    for subject in subjects:
        by_stratum.setdefault(subject.stratum, []).append(subject)
    assert set(by_stratum) == {"site=01|inrg_risk=high", "site=01|inrg_risk=low", "site=02|inrg_risk=high"}
    arms = list(randomised.arms.order_by("code").values_list("pk", "ratio"))
    for stratum, members in by_stratum.items():
        # Each stratum follows its own list, in order, exactly as regenerated from the seed.
        expected = [arm for b in generate_blocks(seed=listing.seed, stratum=stratum, arms=arms, block_sizes=[2, 4], count=10)
                    for arm in b.arms]
        assert [s.arm_id for s in members] == expected[:len(members)]
        # Permuted blocks of at most 4 keep every prefix within 2 of balance.
        running = Counter()
        for s in members:
            running[s.arm_id] += 1
            assert abs(running[arms[0][0]] - running[arms[1][0]]) <= 2
    slots = AllocationSlot.objects.filter(subject__isnull=False)
    assert slots.count() == len(subjects)
    assert AuditEvent.objects.filter(action="allocate").count() == len(subjects)
    # The seed is never written to the audit trail.
    assert not AuditEvent.objects.filter(after__seed__isnull=False).exists()


def test_stratification_by_site_and_risk_uses_the_patients_registry_fields(actors: Actors, randomised: Trial) -> None:
    subject = enrol(actors.coordinator_b, randomised, actors.hospital_b, inrg_risk="intermediate")
    assert subject.stratum == "site=02|inrg_risk=intermediate"


def test_unblinding_needs_a_data_manager_and_a_reason_and_is_audited(actors: Actors, randomised: Trial) -> None:
    subject = enrol(actors.coordinator_a, randomised, actors.hospital_a)
    for actor in (actors.coordinator_a, actors.investigator_a, actors.monitor_a):
        with pytest.raises(ApplicationError) as caught:
            subject_unblind(actor=actor, subject=subject, reason="SAE management")
        assert caught.value.code == "not_allowed"
    with pytest.raises(ApplicationError) as caught:
        subject_unblind(actor=actors.data_manager, subject=subject, reason="  ")
    assert caught.value.code == "reason_required"
    assert not Unblinding.objects.exists()
    subject_unblind(actor=actors.data_manager, subject=subject, reason="SAE management needs the dose")
    event = AuditEvent.objects.get(action="unblind")
    assert event.reason == "SAE management needs the dose" and event.actor == actors.data_manager
    with pytest.raises(ApplicationError) as caught:
        subject_unblind(actor=actors.data_manager, subject=subject, reason="again")
    assert caught.value.code == "already_unblinded"


def test_an_open_label_trial_has_nothing_to_unblind(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="OPEN-R", randomised=True, arms=(("X", 100), ("Y", 100)))
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    with pytest.raises(ApplicationError) as caught:
        subject_unblind(actor=actors.data_manager, subject=subject, reason="curious")
    assert caught.value.code == "not_blinded"


def test_a_randomised_trial_needs_two_arms_and_fitting_blocks_before_it_recruits(actors: Actors) -> None:
    with pytest.raises(ApplicationError) as caught:
        make_trial(actors.data_manager, [actors.hospital_a], code="ONE-ARM", randomised=True, arms=(("X", 100),))
    assert "two arms" in caught.value.message
    with pytest.raises(ApplicationError) as caught:
        make_trial(actors.data_manager, [actors.hospital_a], code="ODD", randomised=True, arms=(("X", 100), ("Y", 100)),
                   block_sizes=[3])
    assert caught.value.fields == {"block_sizes": ["Multiples of the ratio total."]}


def test_the_caller_cannot_choose_the_arm_of_a_randomised_trial(actors: Actors, randomised: Trial) -> None:
    with pytest.raises(ApplicationError) as caught:
        enrol(actors.coordinator_a, randomised, actors.hospital_a, arm=randomised.arms.first())
    assert "allocated, not chosen" in caught.value.message


def test_the_audit_trail_keeps_a_blinded_arm_hidden(actors: Actors, randomised: Trial) -> None:
    subject = enrol(actors.coordinator_a, randomised, actors.hospital_a)
    subject_status_change(actor=actors.coordinator_a, subject=subject, to="withdrawn", reason="family decision")
    events = AuditEvent.objects.filter(trial_id=randomised.pk, object_type="trials.subject")
    assert {e.action for e in events} == {"enrol", "allocate", "status"}
    for event in events:
        for snapshot in (event.before or {}, event.after or {}):
            assert snapshot.get("arm", "[redacted]") == "[redacted]", event.action
            assert "arm" not in snapshot or event.action != "allocate"
    assert events.get(action="allocate").after["slot_position"] >= 1
