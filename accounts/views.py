"""Everything about the user rather than the task: signup, the account page,
export and account deletion."""

import csv
import json
from datetime import datetime
from itertools import chain

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tasks.models import Task

from .forms import (
    DeleteAccountForm,
    LoginForm,
    PasswordChangeForm,
    SignupForm,
    TokenForm,
)
from .models import AccessToken


class ExportEncoder(DjangoJSONEncoder):
    def default(self, o):
        # Django's encoder cuts times to the millisecond; an export keeps
        # them exactly as stored (and as the API shows them).
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


EXPORT_FIELDS = ["id", "title", "description", "completed", "created_at", "updated_at"]


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("tasks:list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="accounts.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        return redirect("tasks:list")
    return render(request, "registration/signup.html", {"form": form})


@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html")


def _exported_tasks(request: HttpRequest):
    return Task.objects.for_user(request.user).values(*EXPORT_FIELDS)


@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    data = json.dumps(list(_exported_tasks(request)), cls=ExportEncoder, indent=2)
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="tasks.json"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = (
        [task[field] for field in EXPORT_FIELDS]
        for task in _exported_tasks(request).iterator(chunk_size=500)
    )
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in chain([EXPORT_FIELDS], rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="tasks.csv"'
    return response


@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        # The tasks go with the user (on_delete=CASCADE), in one transaction.
        user.delete()
        messages.success(request, "Your account and all its tasks were deleted.")
        return redirect("login")
    return render(request, "accounts/delete.html", {"form": form})


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = AccessToken.objects.issue(
            request.user, form.cleaned_data["name"]
        )
        messages.success(
            request, f"Created token “{token.name}”. Copy it now: it is shown once."
        )
        form = TokenForm()
    response = render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "new_token": new_token,
            "tokens": AccessToken.objects.for_user(request.user),
        },
    )
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = AccessToken.objects.for_user(request.user).filter(pk=pk).delete()
    if not deleted:
        raise Http404
    messages.success(request, "Token revoked.")
    return redirect("tokens")


class LoginView(SuccessMessageMixin, auth_views.LoginView):
    # Django's form, plus a check of the username's length (see LoginForm).
    authentication_form = LoginForm
    success_message = "Welcome back, %(username)s."


class PasswordChangeView(auth_views.PasswordChangeView):
    # Django's view; its form checks the current password behind the throttle.
    form_class = PasswordChangeForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Messages live in a cookie, so this one outlives the session.
        messages.info(request, "You have logged out.")
        return response
