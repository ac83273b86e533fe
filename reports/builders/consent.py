"""Registry consent state of a whole cohort on a date, from one plain query of consent records and pandas.

The set-based twin of `registry.consent_rules.annotate_consent`, which carries the state as correlated subqueries
per patient (3-4 s at 100,000 patients on PostgreSQL, most of the cohort report's time). Same rules, same result:
reports/tests/test_consent_frame.py compares the two on every combination the registry's rules distinguish, so a
change of the rules there fails here until this twin follows.

Rules (as `consent_state` / `annotate_consent`):
- the latest registry consent signed by `on` (by signed date, then id) decides; it is valid unless withdrawn by `on`
  or the child refused assent;
- reconsent due: valid, a newer in-force version requires reconsent and the valid consent is of an older version,
  and the patient is followed (not dead, no withdrawal of contact);
- adult consent due: valid, adult on `on`, no participant's own signature given by `on` and not withdrawn by then,
  and followed.
"""
from datetime import date

import pandas as pd
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When

from registry.consent_rules import reconsent_document
from registry.dates import latest_adult_birth
from registry.models import ConsentRecord, ConsentScope, Patient

STATE_COLUMNS = ["has_registry_consent", "reconsent_due", "adult_consent_due"]


def annotate_consent_inputs(patients: QuerySet[Patient], *, on: date) -> QuerySet[Patient]:
    """Plain per-row flags the derivation needs (no subquery): adult on `on`, and followed."""
    return patients.annotate(
        is_adult=Case(When(birth_date__lte=latest_adult_birth(on), then=Value(True)), default=Value(False), output_field=BooleanField()),
        is_followed=Case(When(Q(death_date__isnull=True, contact_withdrawn_on__isnull=True), then=Value(True)),
                         default=Value(False), output_field=BooleanField()))


def consent_frame(patients: QuerySet[Patient], flags: pd.DataFrame, *, on: date) -> pd.DataFrame:
    """`flags` has pk, is_adult, is_followed (one row per patient of `patients`); returns pk + STATE_COLUMNS.

    Two queries: the registry consent records signed by `on` of the cohort, and the version requiring reconsent.
    """
    columns = ["pk", "id", "signed_date", "signer", "assent", "withdrawn_on", "effective_from"]
    rows = (ConsentRecord.objects.filter(patient__in=patients.values("pk"), document__scope=ConsentScope.REGISTRY, signed_date__lte=on)
            .values_list("patient_id", "id", "signed_date", "signer", "assent", "withdrawal__withdrawn_on",
                         "document__effective_from"))
    records = pd.DataFrame(list(rows), columns=columns)
    withdrawn = pd.to_datetime(records["withdrawn_on"]) <= pd.Timestamp(on)
    records["active"] = ~withdrawn
    records["valid"] = records["active"] & (records["assent"] != ConsentRecord.Assent.REFUSED)
    latest = records.sort_values(["pk", "signed_date", "id"]).drop_duplicates("pk", keep="last").set_index("pk")
    adult_signed = records[records["active"] & (records["signer"] == ConsentRecord.Signer.PARTICIPANT)]["pk"].unique()

    out = flags[["pk"]].copy()
    pk = out["pk"]
    valid = pk.map(latest["valid"]).eq(True)  # no consent record: NaN, which is not True
    followed = flags["is_followed"].astype(bool)
    newer = reconsent_document(on)
    if newer is not None:
        current_version = pd.to_datetime(pk.map(latest["effective_from"]))
        signed_current = (current_version >= pd.Timestamp(newer.effective_from)).fillna(False)
        reconsent = valid & ~signed_current & followed
    else:
        reconsent = pd.Series(False, index=out.index)
    out["has_registry_consent"] = valid
    out["reconsent_due"] = reconsent.astype(bool)
    out["adult_consent_due"] = valid & flags["is_adult"].astype(bool) & ~pk.isin(adult_signed) & followed
    return out
