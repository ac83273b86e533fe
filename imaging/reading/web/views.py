"""Reading pages: studies to score, the Curie/SIOPEN/Krenning score sheet, and blinded reading sessions.

Reads go through imaging.reading.selectors (scoped, and blinded for readers), writes through its services.
A reader's case page shows a neutral case code, the pixels and their own scores only.
"""
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from imaging import viewer_config
from imaging.models import ImagingStudy, Preview
from imaging.reading import dicomweb as case_dicomweb
from imaging.reading import rules, selectors
from imaging.reading.models import AssignmentCase, ReadingAssignment, ScoreSheet
from imaging.reading.services.sessions import LesionRead, assignment_case_score
from imaging.reading.services.sheets import score_sheet_create, score_sheet_submit, score_sheet_update
from imaging.reading.web import body_diagram
from imaging.reading.web.forms import CaseScoreForm, SheetValuesForm
from imaging.volume import open_bytes
from nucmed import scoring
from nucmed.tables import score_sheets
from registry.access import Action, may
from registry.errors import ApplicationError
from registry.web.forms import BootstrapForm, add_application_error

SCORED_TRACERS = sorted({t for tracers in rules.TRACERS.values() for t in tracers})
KRENNING_ROWS_MIN = 5


def kinds_for(tracer: str) -> list[str]:
    return [kind for kind, tracers in rules.TRACERS.items() if tracer in tracers]


def _can_score(request: HttpRequest) -> bool:
    return may(request.user, Action.ADD, ScoreSheet)


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


@login_required
@require_GET
def reading_list(request: HttpRequest) -> HttpResponse:
    mine = selectors.sheet_list(user=request.user).filter(reader=request.user, role=ScoreSheet.Role.READ)
    studies = list(selectors.scorable_studies(user=request.user).filter(tracer__in=SCORED_TRACERS)
                   .prefetch_related(Prefetch("score_sheets", queryset=mine, to_attr="my_sheets"))
                   .order_by("-study_date", "-id")[:200])
    rows = [{"study": s, "kinds": [{"kind": k, "sheet": next((x for x in s.my_sheets if x.kind == k), None),
                                    "label": ScoreSheet.Kind(k).label} for k in kinds_for(s.tracer)]} for s in studies]
    assignments = (selectors.assignment_list(user=request.user).prefetch_related(None)
                   .annotate(cases_total=Count("cases"), cases_scored=Count("cases", filter=Q(cases__scored_at__isnull=False)))
                   .order_by("-created_at"))
    return render(request, "reading/web/reading_list.html",
                  {"rows": rows, "assignments": assignments, "can_score": _can_score(request)})


# --- Score sheet -------------------------------------------------------------------------------------------
class SheetMetaForm(BootstrapForm):
    timepoint = forms.ChoiceField(label=_lazy("Time point"), required=False,
                                  choices=[("", "—"), *ScoreSheet.Timepoint.choices],
                                  help_text=_lazy("The flag (total above the cut-off) applies after induction only."))
    comment = forms.CharField(label=_lazy("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _segments(kind: str) -> list[dict[str, Any]]:
    system = scoring.SYSTEMS[kind]
    zh = _zh()
    levels = [{"value": lv.value, "label": lv.label_zh if zh else lv.label_en} for lv in system.levels]
    return [{"code": g.code, "label": g.label_zh if zh else g.label_en, "levels": levels} for g in system.segments]


def _typed_from_sheet(kind: str, sheet: ScoreSheet | None) -> dict[str, str]:
    if sheet is None:
        return {}
    if kind == rules.KRENNING:
        typed = {}
        for n, lesion in enumerate(sheet.values.get("lesions", [])):
            typed[f"site_{n}"], typed[f"score_{n}"] = lesion["site"], "" if lesion["score"] is None else str(lesion["score"])
        return typed
    return {code: str(value) for code, value in sheet.values.items()}


def _krenning_rows(typed: dict[str, str]) -> list[dict[str, Any]]:
    used = sum(1 for key in typed if key.startswith("site_"))
    return [{"n": n, "site": typed.get(f"site_{n}", ""), "score": typed.get(f"score_{n}", "")}
            for n in range(max(KRENNING_ROWS_MIN, used + 2))]


def _sheet_context(request: HttpRequest, study: ImagingStudy, kind: str, sheet: ScoreSheet | None,
                   typed: dict[str, str], meta: SheetMetaForm) -> dict[str, Any]:
    segments = []
    if kind != rules.KRENNING:
        segments = [{**seg, "value": typed.get(seg["code"], "")} for seg in _segments(kind)]
    zh = _zh()
    krenning_levels = [{"value": lv.value, "label": lv.label_zh if zh else lv.label_en} for lv in score_sheets.KRENNING_LEVELS]
    system = scoring.SYSTEMS.get(kind)
    previews = (Preview.objects.restrict(request.user, Action.VIEW).filter(series__study=study, kind=Preview.Kind.CORONAL_MIP)
                .order_by("series__series_number", "index"))
    return {
        "study": study, "kind": kind, "kind_label": ScoreSheet.Kind(kind).label, "sheet": sheet, "segments": segments,
        "krenning_rows": _krenning_rows(typed) if kind == rules.KRENNING else [], "krenning_levels": krenning_levels,
        "max_total": system.max_total if system else scoring.KRENNING_MAX, "cutoff": system.cutoff if system else None,
        "meta": meta, "can_score": _can_score(request), "previews": previews,
        "diagram": body_diagram.diagram(kind, segments) if segments else None,
        "submitted": sheet is not None and sheet.status == ScoreSheet.Status.SUBMITTED,
    }


@login_required
def score_sheet_page(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in rules.TRACERS:
        raise Http404
    study = get_object_or_404(selectors.scorable_studies(user=request.user), pk=pk)
    if kind not in kinds_for(study.tracer):
        raise Http404
    own = selectors.sheet_list(user=request.user).filter(study=study, kind=kind, reader=request.user, role=ScoreSheet.Role.READ)
    sheet = own.first()
    if request.method != "POST":
        meta = SheetMetaForm(initial={"timepoint": sheet.timepoint, "comment": sheet.comment} if sheet else None)
        return render(request, "reading/web/score_sheet.html",
                      {**_sheet_context(request, study, kind, sheet, _typed_from_sheet(kind, sheet), meta),
                       "viewer": _sheet_viewer(request, study, kind, sheet)})
    meta = SheetMetaForm(request.POST)
    posted = SheetValuesForm(request.POST, kind=kind)
    posted.is_valid()  # every field is optional: always valid, the sheet services judge the values
    values, typed = posted.values_and_typed()
    submit = posted.submits()
    if meta.is_valid():
        try:
            # One transaction: a refused submit leaves the stored draft as it was (the page keeps what was typed).
            with transaction.atomic():
                timepoint, comment = meta.cleaned_data["timepoint"], meta.cleaned_data["comment"]
                if sheet is None:
                    sheet = score_sheet_create(actor=request.user, study=study, kind=kind, values=values,
                                               timepoint=timepoint, comment=comment)
                else:
                    sheet = score_sheet_update(actor=request.user, sheet=sheet, values=values, timepoint=timepoint,
                                               comment=comment)
                if submit:
                    sheet = score_sheet_submit(actor=request.user, sheet=sheet)
        except ApplicationError as exc:
            add_application_error(meta, exc)
            sheet = own.first()
        else:
            if submit:
                messages.success(request, _("Score sheet submitted: total %(total)s.") % {"total": sheet.total})
            else:
                messages.success(request, _("Draft saved."))
            return redirect("web-score-sheet", pk=study.pk, kind=kind)
    return render(request, "reading/web/score_sheet.html",
                  {**_sheet_context(request, study, kind, sheet, typed, meta), "viewer": _sheet_viewer(request, study, kind, sheet)},
                  status=400)


def _sheet_viewer(request: HttpRequest, study: ImagingStudy, kind: str, sheet: ScoreSheet | None) -> viewer_config.Viewer | None:
    """The viewer beside the sheet (imaging/viewer_config.py): the study's series the reader can open."""
    return viewer_config.for_score_sheet(request.user, study, kind, can_score=_can_score(request),
                                         submitted=sheet is not None and sheet.status == ScoreSheet.Status.SUBMITTED)


# --- Blinded reading sessions -------------------------------------------------------------------------------
def _assignment(request: HttpRequest, pk: int) -> ReadingAssignment:
    return get_object_or_404(selectors.assignment_list(user=request.user), pk=pk)


def _not_blind(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "reading/web/reading_refused.html", {"message": exc.message}, status=409)


@login_required
@require_GET
def assignment_page(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment(request, pk)
    try:
        selectors.require_blinding(user=request.user, assignment=assignment)
    except ApplicationError as exc:
        return _not_blind(request, exc)
    return render(request, "reading/web/assignment.html", {"assignment": assignment, "cases": assignment.cases.all()})


def _case(request: HttpRequest, pk: int, position: int) -> tuple[ReadingAssignment, AssignmentCase]:
    assignment = _assignment(request, pk)
    selectors.require_blinding(user=request.user, assignment=assignment)
    case = get_object_or_404(selectors.case_list(user=request.user).filter(assignment=assignment), position=position)
    return assignment, case


@login_required
def case_page(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    try:
        assignment, case = _case(request, pk, position)
    except ApplicationError as exc:
        return _not_blind(request, exc)
    status = 200
    lesions = selectors.case_lesion_rows(case)
    if request.method == "POST":
        form = CaseScoreForm(request.POST, lesions=lesions)
        if form.is_valid():
            try:
                assignment_case_score(actor=request.user, case=case, scores=form.scores(),
                                      lesions=[LesionRead(*read) for read in form.lesion_reads()])
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, _("%(case)s scored.") % {"case": case.code})
                following = (selectors.case_list(user=request.user).filter(assignment=assignment, scored_at__isnull=True)
                             .order_by("position").first())
                if following is not None:
                    return redirect("web-reading-case", pk=assignment.pk, position=following.position)
                return redirect("web-reading-assignment", pk=assignment.pk)
        status = 400
    else:
        form = CaseScoreForm(initial={**{scale: getattr(case, scale) for scale in CaseScoreForm.base_fields},
                                      **CaseScoreForm.lesion_initial(lesions)}, lesions=lesions)
    images = list(range(len(selectors.case_previews(case))))
    total = assignment.cases.count()
    return render(request, "reading/web/case.html",
                  {"assignment": assignment, "case": case, "images": images, "form": form, "total": total,
                   "viewer": case_dicomweb.viewer_for(case)}, status=status)


@login_required
@require_GET
def case_image(request: HttpRequest, pk: int, position: int, number: int) -> HttpResponse:
    try:
        _, case = _case(request, pk, position)
    except ApplicationError as exc:
        return _not_blind(request, exc)
    previews = selectors.case_previews(case)
    if number >= len(previews):
        raise Http404
    response = HttpResponse(open_bytes(previews[number].storage_key), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response
