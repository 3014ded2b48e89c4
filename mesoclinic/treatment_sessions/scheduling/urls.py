from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/<str:kind>/<int:pk>/<str:day>/", views.calendar_week_for, name="calendar_week_for"),
    path("calendar/to-book/", views.to_book, name="to_book"),
    path("calendar/feed/", views.feed_settings, name="feed_settings"),
    path("calendar/feed/<str:token>.ics", views.feed, name="feed"),
    path("plans/<int:plan_pk>/book/", views.book_series, name="book"),
    path("sessions/<int:pk>/move/", views.session_move, name="move"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="cancel"),
    path("sessions/<int:pk>/no-show/", views.session_no_show, name="no_show"),
    path("patients/<int:patient_pk>/sessions.ics", views.patient_ics, name="patient_ics"),
]
