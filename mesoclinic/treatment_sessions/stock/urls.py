from django.urls import path

from . import views

app_name = "stock"

urlpatterns = [
    path("stock/", views.stock_page, name="list"),
    path("stock/receive/", views.receive, name="receive"),
    path("stock/scan/", views.scan, name="scan"),
    path("stock/lots/<int:pk>/", views.lot_page, name="lot"),
]
