"""Signature and data-query endpoints in the site-isolation matrix (see tests/matrix.py).

Built on the safety world (trials/safety/tests/matrix_cases.py): signatures and queries on adverse events
of trial T at hospitals A and B, and of trial T2 (no trial roles) at A. Sponsors see signatures of their
trials but no query rows (texts may name a patient): only the per-site counts of the summary endpoint.
"""
from typing import Any

from django.contrib.contenttypes.models import ContentType

from conftest import PASSWORD
from tests.matrix import AUTHENTICATED, Case, World, statuses
from trials.oversight.models import Signature
from trials.oversight.services.queries import data_query_answer, data_query_raise
from trials.oversight.services.signatures import signature_sign
from trials.safety.tests import matrix_cases as safety


def arrange(world: World) -> None:
    safety.arrange(world)
    a = world.actors
    ae_type = ContentType.objects.get_for_model(world["ae_a"])
    for key, signer in (("a", a.investigator_a), ("b", world["investigator_b"])):
        world.rows[f"signature_{key}"] = signature_sign(actor=signer, content_type=ae_type, object_id=world[f"ae_{key}"].pk,
                                                        meaning=Signature.Meaning.ASSESSED, password=PASSWORD)
    for key, monitor in (("a", a.monitor_a), ("b", a.data_manager), ("other", a.monitor_a)):
        world.rows[f"query_{key}"] = data_query_raise(actor=monitor, content_type=ae_type, object_id=world[f"ae_{key}"].pk,
                                                      field_name="grade", text="Grade 3 or 4 per the lab values?")
    answered = data_query_raise(actor=a.monitor_a, content_type=ae_type, object_id=world["ae_a"].pk,
                                field_name="site_awareness_at", text="Awareness time per the admission note?")
    world.rows["query_answered_a"] = data_query_answer(actor=a.coordinator_a, query=answered, text="Corrected to 14:20.")


SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
SIGNATURES = ("signature_a", "signature_b")
QUERIES = ("query_a", "query_b", "query_other", "query_answered_a")
QUERY_HIDDEN = {"coordinator_b", "nobody", "sponsor", "central_reader"}
CLOSERS = {"monitor_a", "data_manager", "trial_monitor"}
query_arg = lambda w: [w["query_a"].pk]  # noqa: E731


def _sign(world: World, actor: str) -> dict[str, Any]:
    return {"record_type": "safety.adverseevent", "object_id": world["ae_other"].pk,
            "meaning": Signature.Meaning.ASSESSED, "password": PASSWORD}


CASES = [
    Case("signature list", "signature-list", statuses(ok=AUTHENTICATED), universe=SIGNATURES,
         visible={"coordinator_a": {"signature_a"}, "investigator_a": {"signature_a"}, "monitor_a": {"signature_a"},
                  "coordinator_b": {"signature_b"}, "data_manager": set(SIGNATURES), "nobody": set(),
                  "sponsor": set(SIGNATURES), "trial_monitor": set(SIGNATURES), "central_reader": set()}),
    Case("signature detail", "signature-detail",
         statuses(ok=SEE_A | {"sponsor", "trial_monitor"}, hidden={"coordinator_b", "nobody", "central_reader"}),
         args=lambda w: [w["signature_a"].pk]),
    Case("sign a record", "signature-list",
         statuses(ok={"investigator_a"}, ok_status=201,
                  forbidden={"coordinator_a", "coordinator_b", "monitor_a", "data_manager", "nobody", "sponsor",
                             "trial_monitor", "central_reader"}),
         method="post", data=_sign),
    Case("data query list", "data-query-list", statuses(ok=AUTHENTICATED), universe=QUERIES,
         visible={"coordinator_a": {"query_a", "query_other", "query_answered_a"},
                  "investigator_a": {"query_a", "query_other", "query_answered_a"},
                  "monitor_a": {"query_a", "query_other", "query_answered_a"}, "coordinator_b": {"query_b"},
                  "data_manager": set(QUERIES), "nobody": set(), "sponsor": set(),
                  "trial_monitor": {"query_a", "query_b", "query_answered_a"}, "central_reader": set()}),
    Case("data query detail", "data-query-detail", statuses(ok=SEE_A | {"trial_monitor"}, hidden=QUERY_HIDDEN),
         args=query_arg),
    Case("data query raise", "data-query-list",
         statuses(ok=CLOSERS, ok_status=201,
                  forbidden={"coordinator_a", "investigator_a", "coordinator_b", "nobody", "sponsor", "central_reader"}),
         method="post", data=lambda w, actor: {"record_type": "safety.adverseevent", "object_id": w["ae_a"].pk,
                                               "field_name": "onset_date", "text": "Onset before dosing?"}),
    Case("data query answer", "data-query-answer",
         statuses(ok={"coordinator_a", "investigator_a", "data_manager"}, forbidden={"monitor_a", "trial_monitor"},
                  hidden=QUERY_HIDDEN),
         method="post", args=query_arg, data=lambda w, actor: {"text": "Grade 3: Hgb 7.6 g/dL."}),
    Case("data query close", "data-query-close",
         statuses(ok=CLOSERS, forbidden={"coordinator_a", "investigator_a"}, hidden=QUERY_HIDDEN),
         method="post", args=query_arg, data=lambda w, actor: {}),
    Case("data query reopen", "data-query-reopen",
         statuses(ok=CLOSERS, forbidden={"coordinator_a", "investigator_a"}, hidden=QUERY_HIDDEN),
         method="post", args=lambda w: [w["query_answered_a"].pk], data=lambda w, actor: {"text": "Please attach the note."}),
    Case("data query worklist", "data-query-worklist", statuses(ok=AUTHENTICATED), universe=QUERIES,
         visible={"coordinator_a": {"query_a", "query_other"}, "investigator_a": {"query_a", "query_other"},
                  "monitor_a": {"query_answered_a"}, "coordinator_b": {"query_b"}, "data_manager": {"query_answered_a"},
                  "nobody": set(), "sponsor": set(), "trial_monitor": {"query_answered_a"}, "central_reader": set()}),
    Case("data query counts per site", "data-query-summary", statuses(ok=AUTHENTICATED)),
]
