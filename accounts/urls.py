from django.urls import path

from . import calendar, views

urlpatterns = [
    path("", views.account, name="account"),
    # Django's login and logout views (accounts/ includes django.contrib.auth.urls
    # after these), with a confirmation message each.
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password_change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("signup/", views.signup, name="signup"),
    path("export.json", views.export_json, name="export-json"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("delete/", views.delete_account, name="delete-account"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
    path("email/", views.change_email, name="change-email"),
    path("time-zone/", views.change_time_zone, name="change-time-zone"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    # The token is a secret: the request log leaves out a parameter so named.
    path("email/confirm/<str:token>/", views.confirm_email, name="confirm-email"),
]
