"""Everything about the user rather than the task: signup, the account page,
export and account deletion."""

import csv
import inspect
import json
import logging
import smtplib
from datetime import datetime
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from ninja.responses import NinjaJSONEncoder

from tasks.models import Task
from tasks.schemas import TaskOut

from .forms import (
    DeleteAccountForm,
    EmailForm,
    LoginForm,
    PasswordChangeForm,
    SignupForm,
    TimeZoneForm,
    TokenForm,
    confirmed_email,
    email_confirmation_token,
)
from .models import AccessToken, Profile, UserSession, profile_of
from .throttling import one_password_check_at_a_time

logger = logging.getLogger(__name__)

# The API's task object, field for field (the owner is not one of them), and
# its encoder: times in ISO 8601 UTC exactly as the API writes them.
EXPORT_FIELDS = list(TaskOut.model_fields)
_api_encoder = NinjaJSONEncoder()

# What a spreadsheet would read as the start of a formula (or, for tab and
# CR, what some strip before looking): such a cell is written after a "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@login_not_required
@require_http_methods(["GET", "POST"])
@one_password_check_at_a_time
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("tasks:list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="accounts.auth.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        if form.cleaned_data["email"]:
            _mail_confirmation_link(request, form.cleaned_data["email"])
        return redirect("tasks:list")
    return render(request, "registration/signup.html", {"form": form})


def _account_page(request: HttpRequest, **forms) -> HttpResponse:
    forms.setdefault("email_form", EmailForm(request.user))
    forms.setdefault(
        "time_zone_form",
        TimeZoneForm(initial={"time_zone": profile_of(request.user).time_zone}),
    )
    return render(request, "accounts/account.html", forms)


@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@require_POST
def change_time_zone(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _account_page(request, time_zone_form=form)
    name = form.cleaned_data["time_zone"]
    # One UPDATE; a user made without a profile (bulk_create) gets one.
    if not Profile.objects.filter(user=request.user).update(time_zone=name):
        Profile.objects.update_or_create(
            user=request.user, defaults={"time_zone": name}
        )
    messages.success(request, f"Time zone set to {name}.")
    return redirect("account")


# --- Email address ----------------------------------------------------------------


def _mail_confirmation_link(request: HttpRequest, email: str) -> None:
    """Mail ``email`` the link that makes it the user's address, and say so."""
    token = email_confirmation_token(request.user, email)
    link = request.build_absolute_uri(reverse("confirm-email", args=[token]))
    body = render_to_string(
        "accounts/email_confirmation_email.txt", {"user": request.user, "link": link}
    )
    try:
        send_mail("Confirm your email address", body, None, [email])
    except (smtplib.SMTPException, OSError) as error:
        # Neither the address nor the mail (its link) goes to the log.
        logger.warning("Address-confirmation mail not sent: %s", type(error).__name__)
        messages.error(
            request, f"We could not send a mail to {email} just now. Please try again."
        )
        return
    messages.info(
        request, f"We sent a link to {email}. Open it to make it your email address."
    )


@require_POST
def change_email(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.user, request.POST)
    if not form.is_valid():
        return _account_page(request, email_form=form)
    _mail_confirmation_link(request, form.cleaned_data["email"])
    return redirect("account")


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows what the link would do; the button POSTs it (a GET
    # never changes data, and mail scanners open links).
    try:
        email = confirmed_email(token, request.user)
    except ValidationError as error:
        return render(
            request,
            "accounts/email_confirm.html",
            {"error": error.messages[0]},
            status=400,
        )
    if request.method == "POST":
        request.user.email = email
        request.user.save(update_fields=["email"])
        messages.success(request, f"Your email address is now {email}.")
        return redirect("account")
    return render(
        request, "accounts/email_confirm.html", {"email": email, "error": None}
    )


def _exported_tasks(request: HttpRequest):
    return Task.objects.for_user(request.user).values(*EXPORT_FIELDS)


def _as_task_objects(rows):
    """The rows as the API writes them (a due time as HH:MM, no rule as None)."""
    for row in rows:
        yield TaskOut.model_validate(row).model_dump()


@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    data = json.dumps(
        list(_as_task_objects(_exported_tasks(request))),
        cls=NinjaJSONEncoder,
        ensure_ascii=False,
        indent=2,
    )
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="tasks.json"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        value = _api_encoder.default(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_lines(tasks):
    writer = csv.writer(_Echo())
    # A byte-order mark first, so that spreadsheets read the file as UTF-8.
    yield "\ufeff" + writer.writerow(EXPORT_FIELDS)
    for task in _as_task_objects(tasks.iterator(chunk_size=500)):
        yield writer.writerow([_csv_cell(task[field]) for field in EXPORT_FIELDS])


@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(_exported_tasks(request)), content_type="text/csv; charset=utf-8"
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


@require_http_methods(["GET", "POST"])
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    # GET asks to confirm (a script may depend on the token); POST revokes.
    mine = AccessToken.objects.for_user(request.user).filter(pk=pk)
    if request.method == "GET":
        token = get_object_or_404(mine)
        return render(request, "accounts/token_confirm_revoke.html", {"token": token})
    deleted, _ = mine.delete()
    if not deleted:
        raise Http404
    messages.success(request, "Token revoked.")
    return redirect("tokens")


def _answers_get(path: str) -> bool:
    """Whether the view at ``path`` serves GET.

    A POST-only URL (a toggle, clear completed, log out) is an action, not a
    page: sent there after logging in, the browser's GET would meet a 405.
    """
    try:
        view = resolve(urlsplit(path).path).func
    except Resolver404:
        return True  # its 404 page says so plainly
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return "get" in view_class.http_method_names and hasattr(view_class, "get")
    # require_http_methods() (require_POST, require_GET) keeps the methods it
    # allows in its wrapper's closure; the decorators above it chain down to
    # that wrapper through __wrapped__. Pinned by the login tests.
    while inspect.isfunction(view):
        methods = inspect.getclosurevars(view).nonlocals.get("request_method_list")
        if methods is not None:
            return "GET" in methods
        view = getattr(view, "__wrapped__", None)
    return True


class LoginView(SuccessMessageMixin, auth_views.LoginView):
    # Django's form, plus a check of the username's length (see LoginForm).
    authentication_form = LoginForm
    success_message = "Welcome back, %(username)s."

    @method_decorator(one_password_check_at_a_time)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def get_redirect_url(self) -> str:
        # Django's check (same site only), and then a page, not an action:
        # after a session ends, a form sent from another tab leads here with
        # next=/tasks/<id>/toggle/, and the task list is the place to land.
        url = super().get_redirect_url()
        return url if url and _answers_get(url) else ""


class PasswordChangeView(auth_views.PasswordChangeView):
    # Django's view; its form checks the current password behind the throttle.
    form_class = PasswordChangeForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        # Django keeps this session signed in (update_session_auth_hash) and
        # refuses the others from now on; deleting their rows signs them out
        # for good, whatever happens to the password later.
        response = super().form_valid(form)
        UserSession.objects.filter(user=self.request.user).exclude(
            session_key=self.request.session.session_key
        ).delete()
        if form.cleaned_data["revoke_tokens"]:
            messages.success(self.request, "All your API tokens were revoked.")
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Messages live in a cookie, so this one outlives the session.
        messages.info(request, "You have logged out.")
        return response
