from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("patients/<int:patient_pk>/plans/new/", views.plan_new, name="new"),
    path("plans/<int:pk>/", views.plan_detail, name="detail"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="edit"),
    path("plans/<int:pk>/activate/", views.plan_activate, name="activate"),
    path("plans/<int:pk>/stop/", views.plan_stop, name="stop"),
    path("plans/<int:pk>/complete/", views.plan_complete, name="complete"),
    path("plans/flags/<slug:protocol_code>/", views.plan_flags, name="flags"),
    path("plans/<int:plan_pk>/consent/", views.consent_sign, name="consent_sign"),
    path("consents/<int:pk>/", views.consent_detail, name="consent_detail"),
    path("consents/<int:pk>/pdf/", views.consent_pdf, name="consent_pdf"),
    path("consents/<int:pk>/signature.png", views.consent_signature, name="consent_signature"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("knowledge/protocols/", views.protocol_list, name="protocols"),
    path("knowledge/protocols/<slug:code>/", views.protocol_detail, name="protocol"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_edit, name="product_new"),
    path("products/<int:pk>/", views.product_edit, name="product_edit"),
]
