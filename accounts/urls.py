from django.contrib.auth.views import LoginView
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("", views.account, name="account"),
    # Django's login view (accounts/ includes django.contrib.auth.urls after
    # these), with a form that also checks the username's length.
    path("login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("signup/", views.signup, name="signup"),
    path("export.json", views.export_json, name="export-json"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("delete/", views.delete_account, name="delete-account"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
]
