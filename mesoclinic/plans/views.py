from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from mesoclinic.core.audit import record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Clinic, Role
from mesoclinic.core.pdf import html_to_pdf
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Patient
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import patient_instructions, prescriber_questions

from . import limits, services
from .consent import clauses_for, consent_document, consent_language, signed_words
from .forms import ConsentForm, IndicationForm, PlanForm, ProductForm, StopForm, WithdrawForm
from .models import CombinationTreatment, Consent, Product, Technique
from .sections import sections_for
from .selectors import current_consent, plans_as_shown, protocol_for, protocols, screening_cover


def _plan_or_404(request, pk):
    return load_or_404(request, plans_as_shown(), pk=pk)


@allow(Role.PRACTITIONER, record=True)
def plan_new(request, patient_pk):
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    chooser = IndicationForm(request.GET or None)
    protocol = chooser.cleaned_data["indication"] if chooser.is_valid() else None
    if protocol is not None:
        protocol = protocol_for(protocol.code)
    form = None
    if protocol is not None:
        kb = knowledge_base()
        if request.method == "POST":
            form = PlanForm(request.POST, kb=kb, protocol=protocol)
            if form.is_valid():
                try:
                    plan = services.plan_create(
                        patient=patient, protocol=protocol, values=form.values(), created_by=request.user
                    )
                except ValidationError as error:
                    add_form_errors(form, error)
                else:
                    messages.success(
                        request, gettext("Draft plan saved. Next: the screening it rests on, and consent.")
                    )
                    return redirect(plan)
        else:
            form = PlanForm(initial=PlanForm.initial_for(protocol), kb=kb, protocol=protocol)
    if request.method == "GET":
        record_view(request, patient, "plan builder")
    context = {"patient": patient, "chooser": chooser, "protocol": protocol, "form": form, "plan": None}
    if request.htmx and request.htmx.target == "plan-builder":
        return render(request, "plans/_builder.html", context)
    return render(request, "plans/form.html", context)


@allow(Role.PRACTITIONER, record=True)
def plan_edit(request, pk):
    plan = _plan_or_404(request, pk)
    if not plan.is_draft:
        messages.error(request, gettext("Only a draft plan can be changed."))
        return redirect(plan)
    kb = knowledge_base()
    if request.method == "POST":
        form = PlanForm(request.POST, kb=kb, protocol=plan.protocol)
        if form.is_valid():
            try:
                services.plan_update(plan=plan, values=form.values())
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, gettext("Plan saved."))
                return redirect(plan)
    else:
        form = PlanForm(initial=PlanForm.initial_from_plan(plan), kb=kb, protocol=plan.protocol)
        record_view(request, plan.patient, f"{plan.indication.label.lower()} plan (edit form)", obj=plan)
    return render(
        request,
        "plans/form.html",
        {"patient": plan.patient, "protocol": plan.protocol, "form": form, "plan": plan, "chooser": None},
    )


@allow(Role.PRACTITIONER)
@require_POST
def plan_flags(request, protocol_code):
    """Flags beside each field for the values typed so far (htmx, out-of-band swaps)."""
    protocol = protocol_for(protocol_code)
    if protocol is None:
        raise Http404
    form = PlanForm(request.POST, kb=knowledge_base(), protocol=protocol)
    form.is_valid()  # flags use whatever parsed; errors show on submit
    suggestion = None
    sessions = form.cleaned_data.get("sessions_planned")
    if sessions:
        suggestion = ", ".join(str(g) for g in protocol.default_intervals(sessions))
    return render(
        request,
        "plans/_flags.html",
        {"flags": form.flags(), "fields": FLAGGED_FIELDS, "suggestion": suggestion, "sessions": sessions},
    )


FLAGGED_FIELDS = (
    "areas",
    "ingredients",
    "technique",
    "depth_mm",
    "needle_gauge",
    "session_minutes",
    "sessions_planned",
    "intervals",
)


@allow(Role.PRACTITIONER, record=True)
def plan_detail(request, pk):
    plan = _plan_or_404(request, pk)
    gate = services.plan_gate(plan)
    record_view(request, plan.patient, f"{plan.indication.label.lower()} plan", obj=plan)
    flags = _flags_for(plan)
    rests_on = plan.screening or gate.status.screening  # the screening the page shows
    newest = gate.status.screening
    return render(
        request,
        "plans/detail.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "gate": gate,
            "flags": flags,
            "flagged": {flag.field for flag in flags},
            "consent": gate.consent,
            "consents": list(plan.consents.select_related("witnessed_by", "withdrawn_recorded_by")),
            "stop_form": StopForm(),
            # What the patient is told comes from the newest screening, as the reminders do,
            # even when the plan was activated on an older one.
            "instructions": patient_instructions(plan.patient, screening=newest) if newest else [],
            "prescriber_questions": prescriber_questions(newest),
            "rests_on": rests_on,
            "newest": newest,
            "combination_labels": _combination_labels(plan),
            "screen_for_plan": reverse("screening:new", args=[plan.patient_id])
            + "?"
            + urlencode(screening_cover(plan), doseq=True),
            # What apps above plans add (the outcomes app's progress): plans.sections.
            "sections": sections_for(request, plan),
        },
    )


def _flags_for(plan):
    return limits.plan_flags(
        protocol=plan.protocol,
        areas=[t.code for t in plan.areas.all()],
        ingredients=[t.code for t in plan.ingredients.all()],
        technique=plan.technique,
        depth_mm=plan.depth_mm,
        needle_gauge=plan.needle_gauge,
        session_minutes=plan.session_minutes,
        sessions=plan.sessions_planned,
        intervals=plan.intervals,
    )


def _combination_labels(plan):
    return [CombinationTreatment(code).label for code in plan.combinations if code in CombinationTreatment.values]


def _technique_labels(codes):
    """A protocol's technique codes as the practitioner reads them ("Nappage ...", not `nappage`)."""
    return [Technique(code).label if code in Technique.values else code for code in codes]


@allow(Role.PRACTITIONER, record=True)
@require_POST
def plan_activate(request, pk):
    plan = _plan_or_404(request, pk)
    try:
        services.plan_activate(plan=plan, by=request.user)
    except services.AlreadyDone as error:
        messages.info(request, " ".join(error.messages))  # a second click: the plan is active
    except ValidationError as error:
        for reason in error.messages:
            messages.error(request, reason)
    else:
        messages.success(request, gettext("The plan is active. The clinic admin can now book its sessions."))
    return redirect(plan)


@allow(Role.PRACTITIONER, record=True)
@require_POST
def plan_stop(request, pk):
    plan = _plan_or_404(request, pk)
    form = StopForm(request.POST)
    if form.is_valid():
        try:
            services.plan_stop(plan=plan, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, gettext("The plan was stopped."))
    else:
        messages.error(request, gettext("Say why the plan stops."))
    return redirect(plan)


@allow(Role.PRACTITIONER, record=True)
@require_POST
def plan_complete(request, pk):
    plan = _plan_or_404(request, pk)
    try:
        services.plan_complete(plan=plan, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, gettext("The plan is marked completed."))
    return redirect(plan)


# --- Consent ------------------------------------------------------------------------------


def _document(plan, user, language):
    instructions = patient_instructions(plan.patient)  # the newest screening's, as the reminders
    return consent_document(
        plan, practitioner=user, on_date=clinic_today(), instructions=instructions, language=language
    )


@allow(Role.PRACTITIONER, record=True)
def consent_sign(request, plan_pk):
    """The patient reads and signs on the practitioner's screen, in the patient's language (or
    the other one, if they ask: ?language=en); the page around it stays the practitioner's."""
    plan = _plan_or_404(request, plan_pk)
    if current_consent(plan) is not None:
        messages.info(request, gettext("This plan already has signed consent."))
        return redirect(plan)
    language = consent_language(plan, request.POST.get("language") or request.GET.get("language"))
    document = _document(plan, request.user, language)
    require_signature = Clinic.current().consent_requires_signature
    form = ConsentForm(
        request.POST or None,
        initial={"photo_consent": None, "language": language},
        patient=plan.patient,
        require_signature=require_signature,
    )
    with translation.override(language):  # the patient's words: errors included
        if request.method == "POST" and form.is_valid():
            try:
                services.consent_sign(
                    plan=plan,
                    document_html=document,
                    shown_fingerprint=request.POST.get("document_sha256", ""),
                    signed_name=form.cleaned_data["signed_name"],
                    confirmed=form.cleaned_data["confirmed"],
                    photo_consent=form.cleaned_data["photo_consent"],
                    signature=form.cleaned_data["signature"],
                    witnessed_by=request.user,
                    language=language,
                )
            except services.AlreadyDone as error:
                messages.info(request, " ".join(error.messages))  # a second click: signed once
                return redirect(plan)
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                # Lazy: the message is worded when it is stored, after the patient's language
                # (above) gives way to the practitioner's again.
                messages.success(request, gettext_lazy("Consent signed and stored."))
                return redirect(plan)
    if request.method == "GET":
        record_view(request, plan.patient, "consent form", obj=plan)
    # The other language, when every clause of this plan's document is written in it.
    clauses = clauses_for(plan)
    others = [(c, name) for c, name in settings.LANGUAGES if c != language and consent_language(plan, c, clauses) == c]
    return render(
        request,
        "plans/consent_sign.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "document": document,
            "fingerprint": services.fingerprint(document),
            "form": form,
            "language": language,
            "other_languages": others,
            "require_signature": require_signature,
        },
    )


def _consent_or_404(request, pk):
    return load_or_404(request, Consent.objects.select_related("plan", "patient", "witnessed_by"), pk=pk)


@allow(Role.PRACTITIONER, record=True)
def consent_detail(request, pk):
    consent = _consent_or_404(request, pk)
    record_view(request, consent.patient, "signed consent", obj=consent)
    return render(
        request,
        "plans/consent_detail.html",
        {"consent": consent, "plan": consent.plan, "patient": consent.patient, "withdraw_form": WithdrawForm()},
    )


@allow(Role.PRACTITIONER, record=True)
def consent_signature(request, pk):
    consent = _consent_or_404(request, pk)
    if not consent.signature_png:
        raise Http404
    record_view(request, consent.patient, "consent signature", obj=consent)
    response = HttpResponse(bytes(consent.signature_png), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@allow(Role.PRACTITIONER, record=True)
def consent_pdf(request, pk):
    consent = _consent_or_404(request, pk)
    html = render_to_string("plans/consent_print.html", {"consent": consent, "signed": signed_words(consent)})
    record_view(request, consent.patient, "signed consent (PDF)", obj=consent)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="consent-{consent.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@allow(Role.PRACTITIONER, record=True)
@require_POST
def consent_withdraw(request, pk):
    consent = _consent_or_404(request, pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(consent=consent, reason=form.cleaned_data["reason"], by=request.user)
        except services.AlreadyDone as error:
            messages.info(request, " ".join(error.messages))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, gettext("Consent withdrawn. The plan is stopped and its remaining sessions cancelled.")
            )
            return redirect(consent.plan)
    elif "reason" in form.errors:
        messages.error(request, gettext("Record what the patient said before withdrawing consent."))
    else:
        messages.error(request, " ".join(form.errors["confirm"]))
    return redirect(consent)


# --- Protocols and products ------------------------------------------------------------------


@allow(Role.PRACTITIONER)
def protocol_list(request):
    return render(request, "plans/protocols.html", {"protocols": protocols()})


@allow(Role.PRACTITIONER)
def protocol_detail(request, code):
    protocol = protocol_for(code)
    if protocol is None:
        raise Http404
    return render(
        request,
        "plans/protocol.html",
        {
            "protocol": protocol,
            "intervals": protocol.default_intervals(protocol.default_sessions),
            "techniques": _technique_labels(protocol.techniques),
            "combinations": [
                CombinationTreatment(code).label if code in CombinationTreatment.values else code
                for code in protocol.combinations
            ],
        },
    )


@allow(Role.PRACTITIONER)
def product_list(request):
    products = Product.objects.prefetch_related("ingredients").order_by("-is_active", "name")
    return render(request, "plans/products.html", {"products": products})


@allow(Role.PRACTITIONER)
def product_edit(request, pk=None):
    product = get_object_or_404(Product, pk=pk) if pk else None
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, gettext("%(product)s saved.") % {"product": form.instance})
        return redirect("plans:products")
    return render(request, "plans/product_form.html", {"form": form, "product": product})
