"""The reading pages' measurement contexts (imaging/services/measurements.py), registered from ReadingConfig.ready().

- "score_sheet": the score sheet page's study (the reader sees it at its hospital or reads it centrally); targets a VOI
  record and the reader's own score sheet, where the measurement becomes a line of the draft's comment (created as a
  draft when the reader has none), through the sheet services, audited; a submitted sheet no longer changes.
- "case": a blinded reading case, the reader's own; its pseudonymous UIDs are resolved here; the target is a VOI record
  of the case's series. The reader has no imaging scope on that series (by design), so the case authorises the write.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from imaging.models import Instance, Series
from imaging.reading import dicomweb as case_dw
from imaging.reading import rules, selectors
from imaging.reading.models import ScoreSheet
from imaging.reading.services.sheets import score_sheet_create, score_sheet_update
from imaging.services import measurements as ms
from registry.access import Action, may
from registry.models import User

COMMENT_MAX = 4000


def _int(context: Mapping[str, Any], key: str) -> int:
    value = context.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ms.fail(_("This page's context is not valid."), "invalid_context", "context")
    return value


@ms.register_context("score_sheet")
def score_sheet_place(user: User, context: Mapping[str, Any]) -> ms.Place:
    kind = context.get("kind")
    study = selectors.scorable_studies(user=user).filter(pk=_int(context, "study")).first()
    if study is None:
        raise ms.fail(_("This page's study does not exist."), "not_found", "context")
    if kind not in rules.TRACERS or study.tracer not in rules.TRACERS[kind]:
        raise ms.fail(_("This page's context is not valid."), "invalid_context", "context")

    def to_sheet(actor: User, m: ms.Measurement, series: Series, sop: str, checked: dict[str, Any]) -> ms.Saved:
        return _sheet_line(actor, study, str(kind), m)

    return ms.Place(series=ms.study_series(user, study), instance_uid=ms.real_instance_uid,
                    targets={"voi": ms.voi_record, "score_sheet": to_sheet})


def _sheet_line(actor: User, study: Any, kind: str, m: ms.Measurement) -> ms.Saved:
    if not may(actor, Action.ADD, ScoreSheet):
        raise ms.fail(_("Your role does not allow scoring studies."), "not_allowed")
    line = ms.describe(m)
    sheet = (selectors.sheet_list(user=actor).filter(study=study, kind=kind, reader=actor, role=ScoreSheet.Role.READ).first())
    if sheet is None:
        sheet = score_sheet_create(actor=actor, study=study, kind=kind, comment=line)
    else:
        if sheet.status != ScoreSheet.Status.DRAFT:
            raise ms.fail(_("Your score sheet is submitted; it no longer changes."), "already_submitted", "target")
        comment = f"{sheet.comment}\n{line}" if sheet.comment else line
        if len(comment) > COMMENT_MAX:
            raise ms.fail(_("The sheet's comment is full (%(max)s characters).") % {"max": COMMENT_MAX}, "comment_full", "target")
        sheet = score_sheet_update(actor=actor, sheet=sheet, comment=comment)
    return ms.Saved(sheet.pk, _("Added to your score sheet's comment."))


@ms.register_context("case")
def case_place(user: User, context: Mapping[str, Any]) -> ms.Place:
    try:
        case = case_dw.reader_case(user, _int(context, "assignment"), _int(context, "position"))
    except Http404:
        raise ms.fail(_("This case is not in your reading list."), "not_found", "context") from None
    series = case.item.series
    names = case_dw.Pseudonyms(case)

    def instance_uid(found: Series, posted: str) -> str | None:
        for uid in Instance.objects.filter(series=found, quarantine_reason="").values_list("sop_instance_uid", flat=True):
            if names.of(uid) == posted:
                return uid
        return None

    def to_voi(actor: User, m: ms.Measurement, found: Series, sop: str, checked: dict[str, Any]) -> ms.Saved:
        return ms.voi_record(actor, m, found, sop, checked, via_case=True)

    factor = case_dw.suv_folded(series)
    return ms.Place(series={names.series_uid: (series, factor)}, instance_uid=instance_uid, targets={"voi": to_voi},
                    via_case=True)
