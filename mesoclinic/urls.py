from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mesoclinic.core import views as core_views
from mesoclinic.core.forms import SignInForm

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", core_views.profile, name="profile"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("mesoclinic.core.urls")),
    path("patients/", include("mesoclinic.patients.urls")),
    path("", include("mesoclinic.desk.urls")),
    path("", include("mesoclinic.screening.urls")),
    path("", include("mesoclinic.plans.urls")),
    path("", include("mesoclinic.treatment_sessions.urls")),
    path("", include("mesoclinic.treatment_sessions.scheduling.urls")),
    path("", include("mesoclinic.treatment_sessions.session_day.urls")),
    path("", include("mesoclinic.treatment_sessions.photos.urls")),
    path("", include("mesoclinic.treatment_sessions.stock.urls")),
    path("", include("mesoclinic.treatment_sessions.reminders.urls")),
    path("aftercare/", include("mesoclinic.aftercare.urls")),
    path("", include("mesoclinic.questionnaires.urls")),
    path("", include("mesoclinic.outcomes.urls")),
    path("admin/", admin.site.urls),
]

if settings.BENCHMARK_VIEWS:
    urlpatterns.append(path("bench/bare", core_views.bench_bare))

# Django's own error handlers render templates/403.html, 404.html and 500.html: the app's look.
# The 500 page takes no context and no database, which may be what failed.
# A request the app cannot read (a query parameter refused by core.params) gets 400.html with why.
handler400 = "mesoclinic.core.errors.bad_request"
