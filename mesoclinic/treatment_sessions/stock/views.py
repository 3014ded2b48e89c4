"""The stock pages, for practitioners and the clinic admin: the shelf, a delivery received (typed
or scanned from the pack), a lot's history and its count. No patient's data is shown: a use
names the session's date, and the session page records who opened it."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mesoclinic.core import params
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.selectors import read_page_cursor
from mesoclinic.treatment_sessions.models import Lot, StockMovementKind

from . import services
from .forms import CountForm, ReceiveForm
from .gs1 import read_pack
from .selectors import SHOW_EXPIRING, SHOW_REORDER, lot_history, lot_problem, product_for_gtin, stock_list
from .services import shown_ml

STOCK_ROLES = (Role.PRACTITIONER, Role.SCHEDULER)


@allow(*STOCK_ROLES)
@require_GET
def stock_page(request):
    show = params.choice(request, "show", (SHOW_EXPIRING, SHOW_REORDER))
    listing = stock_list(clinic_today(), show)
    return render(request, "treatment_sessions/stock/list.html", {"stock": listing})


def _receive_initial(request):
    initial = {"supplier": params.text(request, "supplier", max_length=120)}
    product = params.pk(request, "product")
    if product is not None:
        initial["product"] = product
    return initial


def _received_message(lot, data):
    return _("Received %(quantity)s of %(product)s, lot %(lot)s: %(on_hand)s ml on hand.") % {
        "quantity": _("%(units)s × %(unit)s ml") % {"units": data["units"], "unit": shown_ml(lot.product.unit_ml)}
        if data.get("units") and lot.product.unit_ml
        else _("%(ml)s ml") % {"ml": shown_ml(services.ml(data["quantity_ml"]))},
        "product": lot.product,
        "lot": lot.lot_number,
        "on_hand": shown_ml(lot.on_hand_ml),
    }


@allow(*STOCK_ROLES)
def receive(request):
    """A delivery, lot by lot. After each, the form comes back empty but for the supplier: a
    delivery often brings several lots."""
    form = ReceiveForm(request.POST or None, initial=None if request.method == "POST" else _receive_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            lot, repeated = services.delivery_receive_once(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            if repeated:
                messages.info(request, _("This delivery was recorded a moment ago: it was not added again."))
            else:
                messages.success(request, _received_message(lot, form.cleaned_data))
            query = urlencode({"supplier": form.cleaned_data["supplier"]}) if form.cleaned_data["supplier"] else ""
            return redirect(reverse("stock:receive") + (f"?{query}" if query else ""))
    return render(request, "treatment_sessions/stock/receive.html", {"form": form})


def _scan_answer(pack, product):
    """What the scan says beside the fields, and what it fills."""
    expires = date_format(pack.expires_on, "d M Y") if pack.expires_on else ""
    found = []
    if product is None and pack.gtin:
        found.append(
            _(
                "No product in the catalogue has the GTIN %(gtin)s: choose the product, and add its GTIN in the catalogue."
            )
            % {"gtin": pack.gtin}
        )
    if not pack.lot:
        found.append(_("The code has no lot number: type it from the box."))
    if not pack.expires_on:
        found.append(_("The code has no expiry date: type it from the box."))
    elif pack.expires_on < clinic_today():
        found.append(_("This lot expired on %(expired)s: it must not be put on the shelf.") % {"expired": expires})
    read = ", ".join(
        part
        for part in (
            str(product) if product else "",
            _("lot %(lot)s") % {"lot": pack.lot} if pack.lot else "",
            _("expires %(date)s") % {"date": expires} if expires else "",
        )
        if part
    )
    message = _("Read from the pack: %(read)s.") % {"read": read} if read else ""
    return {
        "ok": True,
        "complete": not found,
        "message": " ".join([message, *found]).strip(),
        "gtin": pack.gtin,
        "product": product.pk if product else None,
        "lot_number": pack.lot,
        "expires_on": pack.expires_on.isoformat() if pack.expires_on else None,
        "serial": pack.serial,
    }


@allow(*STOCK_ROLES)
@require_POST
def scan(request):
    """The text of a pack's code, as the camera (scan.js) or a handheld scanner read it: what it
    says, for the receive form to fill in. Parsed here, with the maintained GS1 parser."""
    try:
        pack = read_pack(request.POST.get("code", ""))
    except ValueError as error:
        return JsonResponse({"ok": False, "complete": False, "message": str(error)})
    product = product_for_gtin(pack.gtin) if pack.gtin else None
    if product is not None and not product.is_active:
        product = None
    return JsonResponse(_scan_answer(pack, product))


@allow(*STOCK_ROLES)
def lot_page(request, pk):
    """A lot: what is on hand, every movement, and "Count and correct"."""
    lot = get_object_or_404(Lot.objects.select_related("product"), pk=pk)
    counted = shown_ml(lot.on_hand_ml) if lot.on_hand_ml is not None else None
    form = CountForm(request.POST or None, initial={"counted_ml": counted})
    if request.method == "POST" and form.is_valid():
        try:
            lot = services.stock_adjust(lot=lot, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request,
                _("Lot %(lot)s counted: %(on_hand)s ml on hand.")
                % {"lot": lot.lot_number, "on_hand": shown_ml(lot.on_hand_ml)},
            )
            return redirect("stock:lot", pk=lot.pk)
    today = clinic_today()
    history = lot_history(
        lot, before=read_page_cursor(request.GET.get("before")), after=read_page_cursor(request.GET.get("after"))
    )
    # Each movement's kind, worded once per kind rather than once per row.
    kinds = {code: str(label) for code, label in StockMovementKind.choices}
    for movement in history.rows:
        movement.kind_label = kinds.get(movement.kind, movement.kind)
    context = {
        "lot": lot,
        "history": history,
        "movements": history.rows,
        "form": form,
        "problem": lot_problem(lot, today),
    }
    return render(request, "treatment_sessions/stock/lot.html", context)
