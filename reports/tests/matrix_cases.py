"""Report endpoints in the site-isolation matrix (see tests/matrix.py).

The world: trial RPT-A with its site at hospital A, in which the trial-only actors hold their roles (sponsor,
trial monitor, central reader), trial RPT-B at hospital B, in which they hold none; finished runs of a cohort
report by coordinator A and by the data manager, and of each trial's report by the data manager.
"""
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from registry.access import TrialRole
from registry.models import User
from reports.models import ReportFile, ReportRun
from tests.matrix import AUTHENTICATED, Case, World, statuses
from trials.models import Trial, TrialMembership
from trials.tests.builders import quick_trial

RUNS = ("run_cohort_coord_a", "run_cohort_dm", "run_trial_a", "run_trial_b")


def _run(world: World, key: str, user: User, kind: str, trial: Trial | None = None) -> None:
    params: dict[str, Any] = {"as_of": "2024-01-01"}
    if trial is not None:
        params.update(trial=trial.pk, trial_code=trial.code)
    run = ReportRun.objects.create(kind=kind, params=params, trial=trial, requested_by=user, status=ReportRun.Status.SUCCEEDED,
                                   progress=100, row_counts={"s": 1}, result={"kind": kind, "sections": []})
    content = b"a,b\n1,2\n"
    stored = default_storage.save(f"reports/{run.pk}/s.csv", ContentFile(content))
    ReportFile.objects.create(run=run, name="s.csv", format="csv", storage_key=stored, size=len(content), sha256="0" * 64, rows=1)
    world.rows[key] = run


def arrange(world: World) -> None:
    a = world.actors
    world.rows["trial_a"] = quick_trial([a.hospital_a], code="RPT-A")
    world.rows["trial_b"] = quick_trial([a.hospital_b], code="RPT-B")
    for actor, role in (("sponsor", TrialRole.SPONSOR), ("trial_monitor", TrialRole.MONITOR),
                        ("central_reader", TrialRole.CENTRAL_READER)):
        TrialMembership.objects.create(user=getattr(a, actor), trial=world["trial_a"], role=role)
    _run(world, "run_cohort_coord_a", a.coordinator_a, "cohort")
    _run(world, "run_cohort_dm", a.data_manager, "cohort")
    _run(world, "run_trial_a", a.data_manager, "trial", world["trial_a"])
    _run(world, "run_trial_b", a.data_manager, "trial", world["trial_b"])


TRIAL_ACTORS = {"sponsor", "trial_monitor", "central_reader"}
EVERYONE = {"coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "data_manager", "nobody", *TRIAL_ACTORS}
pk = lambda key: (lambda w: [w[key].pk])  # noqa: E731


def _only(*ok: str, status: int = 200) -> dict[str, int]:
    return statuses(ok=set(ok), ok_status=status, hidden=EVERYONE - set(ok))


def _cohort(hospitals: list[str] | None = None):  # type: ignore[no-untyped-def]
    def data(world: World, actor: str) -> dict[str, Any]:
        params: dict[str, Any] = {"as_of": "2024-01-01"}
        if hospitals is not None:
            params["hospitals"] = hospitals
        return {"kind": "cohort", "params": params}

    return data


def _trial(key: str):  # type: ignore[no-untyped-def]
    return lambda w, actor: {"kind": "trial", "params": {"trial": w[key].pk}}


NOT_COHORT = {"monitor_a", "nobody", *TRIAL_ACTORS}

CASES = [
    Case("report run list", "report-run-list", statuses(ok=AUTHENTICATED), universe=RUNS,
         visible={"coordinator_a": {"run_cohort_coord_a"}, "investigator_a": set(), "coordinator_b": set(), "monitor_a": set(),
                  "data_manager": set(RUNS), "nobody": set(), "sponsor": {"run_trial_a"}}),
    Case("report run detail (own cohort run)", "report-run-detail", _only("coordinator_a", "data_manager"),
         args=pk("run_cohort_coord_a")),
    Case("report run detail (trial A)", "report-run-detail", _only("sponsor", "data_manager"), args=pk("run_trial_a")),
    Case("report run result (trial A)", "report-run-result", _only("sponsor", "data_manager"), args=pk("run_trial_a")),
    Case("report run result (trial B)", "report-run-result", _only("data_manager"), args=pk("run_trial_b")),
    Case("report download (trial A)", "report-run-download", _only("sponsor", "data_manager"),
         args=lambda w: [w["run_trial_a"].pk, "s.csv"]),
    Case("report download (trial B: never another trial's sponsor)", "report-run-download", _only("data_manager"),
         args=lambda w: [w["run_trial_b"].pk, "s.csv"]),
    Case("report download (own cohort run)", "report-run-download", _only("coordinator_a", "data_manager"),
         args=lambda w: [w["run_cohort_coord_a"].pk, "s.csv"]),
    Case("request cohort report (own hospitals)", "report-run-list",
         statuses(ok={"coordinator_a", "investigator_a", "coordinator_b", "data_manager"}, ok_status=202, forbidden=NOT_COHORT),
         method="post", data=_cohort()),
    Case("request cohort report naming hospital B", "report-run-list",
         statuses(ok={"coordinator_b", "data_manager"}, ok_status=202, invalid={"coordinator_a", "investigator_a"},
                  forbidden=NOT_COHORT), method="post", data=_cohort(["BBB"])),
    Case("request trial A report", "report-run-list",
         statuses(ok={"sponsor", "data_manager"}, ok_status=202, hidden={"coordinator_b"},
                  forbidden={"coordinator_a", "investigator_a", "monitor_a", "nobody", "trial_monitor", "central_reader"}),
         method="post", data=_trial("trial_a")),
    Case("request trial B report (sponsor of A: not found)", "report-run-list",
         statuses(ok={"data_manager"}, ok_status=202, hidden={"coordinator_a", "investigator_a", "monitor_a", *TRIAL_ACTORS},
                  forbidden={"coordinator_b", "nobody"}),
         method="post", data=_trial("trial_b")),
    Case("request the de-identified extract", "report-run-list",
         statuses(ok={"data_manager"}, ok_status=202, forbidden=EVERYONE - {"data_manager"}), method="post",
         data=lambda w, actor: {"kind": "extract", "params": {"as_of": "2024-01-01"}}),
    Case("extract data dictionary", "report-extract-dictionary", statuses(ok={"data_manager"}, forbidden=EVERYONE - {"data_manager"})),
]
