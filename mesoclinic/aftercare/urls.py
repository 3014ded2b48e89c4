from django.urls import path

from . import views

app_name = "aftercare"

urlpatterns = [
    path("", views.my_aftercare, name="mine"),
    path("sheets/<int:pk>/", views.sheet_page, name="sheet"),
    path("sheets/<int:pk>/pdf/", views.sheet_pdf, name="sheet_pdf"),
    path("sheets/<int:pk>/revoke/", views.revoke_links, name="revoke"),
    path("sheets/<int:pk>/resend/", views.resend_link, name="resend"),
    path("link/<str:token>/", views.link_page, name="link"),
    path("link/<str:token>/pdf/", views.link_pdf, name="link_pdf"),
]
