"""The practitioner's pages for the day of a session: the re-check, then the chart."""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import patient_for_staff
from mesoclinic.screening import engine
from mesoclinic.screening.forms import DecisionForm
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Term

from . import charting, daycheck
from .forms import AddendumForm, AreaLineFormSet, ChartForm, DayCheckForm, ProductLineFormSet
from .models import AdverseEventType, AdverseSeverity, ChartLockedError, SessionStatus, TreatmentSession

PRACTITIONERS = (Role.PRACTITIONER,)


def _session(request, pk):
    session = get_object_or_404(
        TreatmentSession.objects.select_related(
            "patient", "plan__indication", "plan__protocol", "practitioner", "room", "day_check"
        ),
        pk=pk,
    )
    patient_for_staff(request, session.patient_id, roles=PRACTITIONERS)
    return session


@login_required
def recheck(request, pk):
    session = _session(request, pk)
    if session.status != SessionStatus.SCHEDULED:
        messages.info(request, f"The session is {session.get_status_display().lower()}.")
        return redirect(session)
    try:
        screening = daycheck.base_screening(session)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(session)
    kb = knowledge_base()
    holds = daycheck.hold_items(screening, kb)
    form = DayCheckForm(request.POST or None, kb=kb, holds=holds)
    result = decision_form = None
    pending = []
    if request.method == "POST" and form.is_valid():
        try:
            answers = daycheck.day_answers(session, screening, form.day_answers(), kb)
        except engine.InvalidAnswers as error:
            form.add_error(None, str(error))
        else:
            result = daycheck.day_result(session, answers, screening, kb)
            pending = daycheck.new_findings(screening, result.findings)
            options = {"findings": pending, "kb": kb, "planned_areas": answers.areas}
            if request.POST.get("action") == "save":
                decision_form = DecisionForm(request.POST, **options)
                if decision_form.is_valid():
                    try:
                        recorded = daycheck.day_check_record(
                            session=session,
                            by=request.user,
                            result=result,
                            answers=answers,
                            screening=screening,
                            decisions=decision_form.decisions(),
                            notes=form.cleaned_data["notes"],
                        )
                    except ValidationError as error:
                        form.add_error(None, error.messages)
                    else:
                        if recorded.is_deferred:
                            messages.error(
                                request,
                                "The re-check defers treatment: the session is stopped until resolved or overridden.",
                            )
                        else:
                            messages.success(request, "Re-check recorded. You can chart the session.")
                        return redirect(session)
            else:
                kept = {k: request.POST.get(k) for k in request.POST if k.startswith(("ack_", "override_"))}
                decision_form = DecisionForm(initial=kept, **options)
    if request.method == "GET":
        record_view(request, session.patient, "re-check on the day", obj=session)
    return render(
        request,
        "treatment_sessions/recheck.html",
        {
            "session": session,
            "patient": session.patient,
            "screening": screening,
            "form": form,
            "result": result.as_json() if result else None,
            "pending": {f.key for f in pending},
            "decision_form": decision_form,
            "documents": kb.documents,
        },
    )


class AdverseEventsForm(forms.Form):
    """Adverse events as quick choices: a tick, a severity, and a follow-up date per kind."""

    def __init__(self, *args, types, session_day, **kwargs):
        super().__init__(*args, **kwargs)
        self.types = types
        for kind in types:
            self.fields[f"ae_{kind.code}"] = forms.BooleanField(label=kind.label, required=False)
            self.fields[f"ae_{kind.code}_severity"] = forms.ChoiceField(
                label="Severity", choices=AdverseSeverity.choices, initial=AdverseSeverity.MILD, required=False
            )
            self.fields[f"ae_{kind.code}_follow_up"] = forms.DateField(
                label="Follow up on",
                required=False,
                initial=session_day + datetime.timedelta(days=kind.follow_up_days),
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )
            self.fields[f"ae_{kind.code}_notes"] = forms.CharField(label="Notes", required=False, max_length=300)

    def rows(self):
        return [
            (
                kind,
                self[f"ae_{kind.code}"],
                self[f"ae_{kind.code}_severity"],
                self[f"ae_{kind.code}_follow_up"],
                self[f"ae_{kind.code}_notes"],
            )
            for kind in self.types
        ]

    def events(self):
        data = self.cleaned_data
        return [
            (
                kind,
                data[f"ae_{kind.code}_severity"] or AdverseSeverity.MILD,
                data[f"ae_{kind.code}_follow_up"],
                data[f"ae_{kind.code}_notes"],
            )
            for kind in self.types
            if data.get(f"ae_{kind.code}")
        ]


class MeasurementsForm(forms.Form):
    """The protocol's outcome measures, plus one of the practitioner's own."""

    other_kind = forms.CharField(label="Other measurement", required=False, max_length=120)
    other_value = forms.DecimalField(label="Value", required=False, max_digits=7, decimal_places=2)
    other_unit = forms.CharField(label="Unit", required=False, max_length=20)

    def __init__(self, *args, measures, **kwargs):
        super().__init__(*args, **kwargs)
        self.measures = list(measures)
        for index, name in enumerate(self.measures):
            self.fields[f"m_{index}"] = forms.DecimalField(label=name, required=False, max_digits=7, decimal_places=2)
            self.fields[f"m_{index}_unit"] = forms.CharField(label="Unit", required=False, max_length=20)

    def rows(self):
        return [(self[f"m_{i}"], self[f"m_{i}_unit"]) for i in range(len(self.measures))]

    def clean(self):
        data = super().clean()
        if data.get("other_value") is not None and not data.get("other_kind"):
            self.add_error("other_kind", "Say what was measured.")
        return data

    def measurements(self):
        data = self.cleaned_data
        found = [
            (name, data[f"m_{i}"], data[f"m_{i}_unit"])
            for i, name in enumerate(self.measures)
            if data.get(f"m_{i}") is not None
        ]
        if data.get("other_kind") and data.get("other_value") is not None:
            found.append((data["other_kind"], data["other_value"], data["other_unit"]))
        return found


def _area_choices(session):
    return [(t.code, t.label) for t in Term.objects.filter(kind="area").order_by("label")]


def _initial(session, chart):
    plan = session.plan
    if chart is None:
        return (
            {
                "technique": plan.technique,
                "depth_mm": plan.depth_mm,
                "needle_gauge": plan.needle_gauge,
                "duration_minutes": plan.session_minutes,
                "anaesthetic": "none",
            },
            [{"area": t.code} for t in plan.areas.all()] + [{}],
            [{"product": p.pk} for p in plan.products.all()] + [{}, {}],
            {},
            {},
        )
    events = {}
    for event in chart.adverse_events.select_related("type"):
        code = event.type_id
        events.update(
            {
                f"ae_{code}": True,
                f"ae_{code}_severity": event.severity,
                f"ae_{code}_follow_up": event.follow_up_on,
                f"ae_{code}_notes": event.notes,
            }
        )
    measures = [m for m in plan.protocol.outcome_measures if "photo" not in m.casefold()]
    measured = {}
    for item in chart.measurements.all():
        if item.kind in measures:
            measured.update(
                {f"m_{measures.index(item.kind)}": item.value, f"m_{measures.index(item.kind)}_unit": item.unit}
            )
        else:
            measured.update({"other_kind": item.kind, "other_value": item.value, "other_unit": item.unit})
    return (
        {
            "technique": chart.technique,
            "depth_mm": chart.depth_mm,
            "needle_gauge": chart.needle_gauge,
            "duration_minutes": chart.duration_minutes,
            "anaesthetic": chart.anaesthetic,
            "notes": chart.notes,
        },
        [{"area": a.area.code, "volume_ml": a.volume_ml} for a in chart.areas.select_related("area")] + [{}],
        [
            {
                "lot_number": u.lot.lot_number,
                "product": u.lot.product_id,
                "expires_on": u.lot.expires_on,
                "volume_ml": u.volume_ml,
            }
            for u in chart.products_used.select_related("lot")
        ]
        + [{}],
        events,
        measured,
    )


@login_required
def chart(request, pk):
    session = _session(request, pk)
    existing = getattr(session, "chart", None) if hasattr(session, "chart") else None
    if existing is not None and existing.is_signed:
        return redirect(session)
    allowed, reason = daycheck.may_chart(session)
    if not allowed:
        messages.error(request, reason)
        return redirect(session)
    day = charting.session_day(session)
    types = list(AdverseEventType.objects.all())
    # Photos are taken in the photo section, not typed as a number.
    measures = [m for m in session.plan.protocol.outcome_measures if "photo" not in m.casefold()]
    chart_initial, area_initial, product_initial, event_initial, measure_initial = _initial(session, existing)
    data = request.POST or None
    form = ChartForm(data, initial=chart_initial)
    areas = AreaLineFormSet(
        data, initial=area_initial, prefix="areas", form_kwargs={"area_choices": _area_choices(session)}
    )
    products = ProductLineFormSet(data, initial=product_initial, prefix="products")
    events = AdverseEventsForm(data, initial=event_initial, types=types, session_day=day)
    measurements = MeasurementsForm(data, initial=measure_initial, measures=measures)
    if request.method == "POST" and all(f.is_valid() for f in (form, areas, products, events, measurements)):
        area_terms = {t.code: t for t in Term.objects.filter(kind="area")}
        area_rows = [
            (area_terms[row["area"]], row["volume_ml"])
            for row in areas.cleaned_data
            if row.get("area") and row.get("volume_ml") is not None
        ]
        product_rows = [
            charting.ProductLine(
                lot_number=row["lot_number"],
                volume_ml=row["volume_ml"],
                product=row.get("product"),
                expires_on=row.get("expires_on"),
            )
            for row in products.cleaned_data
            if row.get("lot_number")
        ]
        try:
            saved = charting.chart_save(
                session=session,
                by=request.user,
                values={
                    k: form.cleaned_data[k]
                    for k in ("technique", "depth_mm", "needle_gauge", "anaesthetic", "duration_minutes", "notes")
                },
                areas=area_rows,
                products=product_rows,
                events=events.events(),
                measurements=measurements.measurements(),
            )
            if request.POST.get("action") == "sign":
                charting.chart_sign(chart=saved, by=request.user)
        except ChartLockedError as error:
            messages.error(request, str(error))
            return redirect(session)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                form.add_error(None, error.messages)
        else:
            if request.POST.get("action") == "sign":
                messages.success(request, "Chart signed and locked. The session is complete.")
            else:
                messages.success(request, "Chart saved as a draft.")
            return redirect(session)
    if request.method == "GET":
        record_view(request, session.patient, "session chart", obj=session)
    return render(
        request,
        "treatment_sessions/chart.html",
        {
            "session": session,
            "patient": session.patient,
            "form": form,
            "areas": areas,
            "products": products,
            "events": events,
            "measurements": measurements,
            "flags": _chart_flags(session, form),
        },
    )


def _chart_flags(session, form):
    from mesoclinic.plans.limits import plan_flags

    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else form.initial
    plan = session.plan
    try:
        depth = Decimal(str(data.get("depth_mm"))) if data.get("depth_mm") is not None else None
    except ArithmeticError:
        depth = None
    flags = plan_flags(
        protocol=plan.protocol,
        areas=[t.code for t in plan.areas.all()],
        ingredients=[t.code for t in plan.ingredients.all()],
        technique=data.get("technique"),
        depth_mm=depth,
        needle_gauge=data.get("needle_gauge") if isinstance(data.get("needle_gauge"), int) else None,
        session_minutes=None,
        sessions=None,
        intervals=[],
    )
    return [flag for flag in flags if flag.field in ("depth_mm", "needle_gauge", "technique")]


@login_required
def addendum(request, pk):
    session = _session(request, pk)
    chart = getattr(session, "chart", None)
    if chart is None or request.method != "POST":
        return redirect(session)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            charting.chart_addendum(chart=chart, text=form.cleaned_data["text"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Addendum added.")
    else:
        messages.error(request, "Write the addendum before adding it.")
    return redirect(session)


def session_day_context(request, session):
    """What the session page shows a practitioner about the day: re-check, chart, addenda."""
    if request.user.role != Role.PRACTITIONER:
        return {}
    chart = getattr(session, "chart", None) if hasattr(session, "chart") else None
    allowed, reason = daycheck.may_chart(session)
    context = {
        "clinical": True,
        "day_check": session.day_check,
        "may_chart": allowed,
        "chart_blocked_reason": reason,
        "chart": chart,
        "addendum_form": AddendumForm(),
    }
    if chart is not None:
        context.update(
            chart_areas=list(chart.areas.select_related("area")),
            chart_products=list(chart.products_used.select_related("lot__product")),
            chart_events=list(chart.adverse_events.select_related("type")),
            chart_measurements=list(chart.measurements.all()),
            chart_addenda=list(chart.addenda.select_related("author")),
        )
    return context
