"""Lot recall pages: practitioners search a lot number and export who received it."""

import re

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mesoclinic.core.permissions import practitioner_required

from .recall import lot_recall, recall_csv, record_recall_views

MAX_LOT_LENGTH = 60  # Lot.lot_number's max_length


def _lot_param(request):
    return request.GET.get("lot", "")[: MAX_LOT_LENGTH * 2]


@practitioner_required
@require_GET
def recall_search(request):
    recall = lot_recall(_lot_param(request))
    record_recall_views(request, recall)
    return render(request, "treatment_sessions/recall/search.html", {"recall": recall})


@practitioner_required
@require_GET
def recall_export(request):
    recall = lot_recall(_lot_param(request))
    record_recall_views(request, recall, page=f"lot recall {recall.lot} (CSV export)")
    response = HttpResponse(recall_csv(recall), content_type="text/csv; charset=utf-8")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", recall.lot).strip("-.") or "search"
    response["Content-Disposition"] = f'attachment; filename="lot-recall-{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
