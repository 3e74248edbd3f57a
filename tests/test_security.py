"""The contract's Security table: production settings, headers on every kind
of response, HTTPS behind a proxy, password hashing, change and reset."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory, override_settings

from accounts.models import AccessToken
from tasks.models import Task
from tests.factories import PASSWORD
from todoproject import config
from todoproject.http_middleware import HeadAsGetMiddleware

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
ARGON2 = "accounts.hashers.Argon2PasswordHasher"
PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
ONE_YEAR = 31_536_000
NEW_PASSWORD = "a-brand-new-passphrase-42"

# Everything the settings read from the environment, so that the parent's
# values (pytest's own DJANGO_SETTINGS_MODULE and SECRET_KEY, a developer's
# DEBUG=true) cannot leak into "production".
SETTINGS_PREFIXES = ("DATABASE_", "DJANGO_", "SECURE_", "EMAIL_", "LOGIN_")
SETTINGS_NAMES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_LEVEL",
    "DEFAULT_FROM_EMAIL",
}


def production_env(**overrides) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SETTINGS_PREFIXES) and name not in SETTINGS_NAMES
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
    )
    env.update(overrides)
    return env


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(DJANGO_SETTINGS_MODULE="todoproject.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def production_settings(*names: str, **env) -> dict:
    """The values of ``names`` in todoproject.settings, imported in a fresh
    process with production environment (plus ``env``)."""
    code = (
        "import json, sys\n"
        "from django.conf import settings\n"
        "print(json.dumps({n: getattr(settings, n, None) for n in sys.argv[1:]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=ROOT,
        env=production_env(DJANGO_SETTINGS_MODULE="todoproject.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- Production settings ------------------------------------------------------


def test_check_deploy_reports_nothing_with_production_settings():
    # Production sends mail (without EMAIL_URL, check --deploy warns: todo.W002).
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(EMAIL_URL="smtp+tls://todo:pw@smtp.example.com:587"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (" in result.stdout


def test_only_the_hsts_preload_check_is_silenced():
    # Silencing is a way to make check --deploy quiet without fixing anything;
    # the one deliberate exception is documented in settings.py.
    silenced = production_settings("SILENCED_SYSTEM_CHECKS")["SILENCED_SYSTEM_CHECKS"]
    assert set(silenced) <= {"security.W021"}


def test_production_cookies_and_hsts():
    values = production_settings(
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values["SECURE_HSTS_SECONDS"] >= ONE_YEAR
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    # Trusting X-Forwarded-Proto is opt-in: without a proxy that strips it,
    # any client could claim to be on HTTPS.
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_httponly(
    client, user
):
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert client.cookies["csrftoken"]["secure"] is True


# --- HTTPS behind a proxy -----------------------------------------------------

PROXY_PROBE = """
import json
import django
django.setup()
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory

middleware = SecurityMiddleware(lambda request: HttpResponse("ok"))
factory = RequestFactory()
plain = middleware(factory.get("/tasks/", HTTP_HOST="example.com"))
proxied = middleware(
    factory.get("/tasks/", HTTP_HOST="example.com", HTTP_X_FORWARDED_PROTO="https")
)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
}))
"""


def test_the_proxy_header_env_var_makes_forwarded_https_count_as_secure():
    result = run_python(PROXY_PROBE, SECURE_PROXY_SSL_HEADER="true")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["plain"] == [301, "https://example.com/tasks/"]
    status, hsts = outcome["proxied"]
    assert status == 200
    assert f"max-age={ONE_YEAR}" in hsts


def test_without_the_proxy_header_env_var_a_forwarded_proto_is_not_trusted():
    result = run_python(PROXY_PROBE)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["proxied"][0] == 301


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
)
def test_behind_a_proxy_https_is_served_and_plain_http_redirected(user):
    client = Client()  # a new client builds its middleware under these settings
    client.force_login(user)
    response = client.get("/tasks/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith(f"max-age={ONE_YEAR}")

    response = client.get("/tasks/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/tasks/"

    response = client.get("/tasks/", headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == 301


# --- Response headers ---------------------------------------------------------


@pytest.fixture
def responses(alice_client, user):
    _, raw = AccessToken.objects.issue(user, "t")
    return {
        "page": alice_client.get("/tasks/"),
        "form post": alice_client.post("/tasks/new/", {"title": "Headers"}),
        "api": Client().get("/api/tasks", headers={"Authorization": f"Bearer {raw}"}),
        "login page": Client().get("/accounts/login/"),
        "404": alice_client.get("/tasks/999999/"),
    }


def test_every_kind_of_response_carries_the_security_headers(responses):
    assert responses["form post"].status_code == 302
    assert responses["api"].status_code == 200
    for kind, response in responses.items():
        assert response["X-Content-Type-Options"] == "nosniff", kind
        assert response["Referrer-Policy"], kind
        assert response["X-Frame-Options"] == "DENY", kind
        assert response["Cross-Origin-Opener-Policy"], kind


def test_every_kind_of_response_carries_a_strict_content_security_policy(responses):
    for kind, response in responses.items():
        directives = csp_directives(response)
        assert directives["default-src"] == ["'self'"], kind
        # script-src and style-src fall back on default-src when absent.
        for name in ("script-src", "style-src", "default-src"):
            values = directives.get(name, [])
            assert "'unsafe-inline'" not in values, (kind, name)
            assert "'unsafe-eval'" not in values, (kind, name)
        assert directives["frame-ancestors"] == ["'none'"], kind


def test_pages_carry_no_inline_script_or_style(responses):
    # The CSP would block them: the page would silently break.
    body = responses["page"].content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert "<style" not in body
    assert not re.search(r"\sstyle=", body)
    assert not re.search(r"\son[a-z]+=", body)


def test_a_secure_request_gets_hsts_of_at_least_a_year(alice_client):
    response = alice_client.get("/tasks/", secure=True)
    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts)[1])
    assert max_age >= ONE_YEAR


def test_a_plain_http_request_gets_no_hsts(alice_client):
    # Browsers ignore HSTS over HTTP; sending it there would be a misconfiguration.
    assert "Strict-Transport-Security" not in alice_client.get("/tasks/")


# --- Passwords ----------------------------------------------------------------


def test_production_hashes_passwords_with_argon2():
    from todoproject import settings as production

    assert production.PASSWORD_HASHERS[0] == ARGON2
    hashers = production_settings("PASSWORD_HASHERS")["PASSWORD_HASHERS"]
    assert hashers[0] == ARGON2


@override_settings(PASSWORD_HASHERS=[ARGON2, PBKDF2])
def test_an_old_pbkdf2_hash_is_upgraded_to_argon2_on_login(client):
    user = get_user_model().objects.create(
        username="legacy", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    assert user.password.startswith("pbkdf2_sha256$")

    response = client.post(
        "/accounts/login/", {"username": "legacy", "password": PASSWORD}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def test_password_validators_are_djangos_four(settings):
    names = {v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }


def test_password_change_keeps_the_session_and_takes_the_new_password(
    alice_client, user
):
    assert alice_client.get("/accounts/password_change/").status_code == 200
    response = alice_client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert alice_client.get("/tasks/").status_code == 200


def test_password_change_with_a_wrong_old_password_changes_nothing(alice_client, user):
    response = alice_client.post(
        "/accounts/password_change/",
        {
            "old_password": "not-it",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert 'id="id_old_password_error"' in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_logs_out_other_sessions(alice_client, user):
    other_browser = Client()
    other_browser.force_login(user)
    alice_client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    response = other_browser.get("/tasks/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_reset_mails_one_working_link(client, user, mailoutbox):
    user.email = "alice@example.com"
    user.save()

    response = client.post("/accounts/password_reset/", {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    link = re.search(r"https?://testserver(/accounts/reset/\S+/\S+/)", mail.body)[1]

    response = client.get(link, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The link works once.
    response = client.get(link, follow=True)
    assert "invalid or has already been used" in response.content.decode()


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client, user, mailoutbox
):
    user.email = "alice@example.com"
    user.save()
    known = client.post("/accounts/password_reset/", {"email": user.email}, follow=True)
    unknown = Client().post(
        "/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True
    )
    assert unknown.redirect_chain == known.redirect_chain
    assert unknown.content == known.content
    assert len(mailoutbox) == 1


# --- Email configuration ------------------------------------------------------


def test_email_url_configures_smtp(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://mailer:s3cret@smtp.example.com:587")
    values = config.email_url("EMAIL_URL", default="consolemail://")
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["EMAIL_HOST"] == "smtp.example.com"
    assert values["EMAIL_PORT"] == 587
    assert values["EMAIL_USE_TLS"] is True
    assert values["EMAIL_HOST_USER"] == "mailer"
    assert values["EMAIL_HOST_PASSWORD"] == "s3cret"


def test_email_goes_to_the_console_by_default(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    values = config.email_url("EMAIL_URL", default="consolemail://")
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_a_bad_email_url_names_the_variable_and_not_the_password(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "nonsense://mailer:s3cret@host")
    with pytest.raises(ImproperlyConfigured) as error:
        config.email_url("EMAIL_URL", default="consolemail://")
    assert "EMAIL_URL" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_the_settings_take_the_email_backend_from_email_url():
    values = production_settings(
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        EMAIL_URL="smtp+ssl://mailer:pw@smtp.example.com:465",
    )
    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
    }
    # Without EMAIL_URL, production drops mail rather than print reset links
    # to the console, which is its log; development prints them.
    default = production_settings("EMAIL_BACKEND")
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.dummy.EmailBackend"
    development = production_settings("EMAIL_BACKEND", DEBUG="true")
    assert development["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/tasks/", "/api/tasks"])
def test_a_request_for_a_host_not_served_gets_a_400_page(settings, path):
    settings.ALLOWED_HOSTS = ["example.com"]
    response = Client().get(path, HTTP_HOST="1")
    assert response.status_code == 400
    assert "<title>Bad request" in response.content.decode()


# --- Caching ---------------------------------------------------------------------


def cache_directives(response) -> set[str]:
    return {d.strip().lower() for d in response.get("Cache-Control", "").split(",")}


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",")}


@pytest.fixture
def bearer(user) -> dict:
    _, raw = AccessToken.objects.issue(user, "cache")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def private_responses(alice_client, user, task, bearer):
    """Every kind of response that shows (or may show) the user's data."""
    api = Client(headers=bearer)
    return {
        "list page": alice_client.get("/tasks/?status=active"),
        "detail page": alice_client.get(f"/tasks/{task.pk}/"),
        "edit page": alice_client.get(f"/tasks/{task.pk}/edit/"),
        "invalid form": alice_client.post("/tasks/new/", {"title": ""}),
        "redirect after a post": alice_client.post("/tasks/new/", {"title": "X"}),
        "account page": alice_client.get("/accounts/"),
        "tokens page": alice_client.get("/accounts/tokens/"),
        "calendar page": alice_client.get("/accounts/calendar/"),
        "new calendar address": alice_client.post("/accounts/calendar/"),
        "calendar feed 404": Client().get("/calendar/unknown.ics"),
        "delete account page": alice_client.get("/accounts/delete/"),
        "JSON export": alice_client.get("/accounts/export.json"),
        "CSV export": alice_client.get("/accounts/export.csv"),
        "API list, token": api.get("/api/tasks"),
        "API task, token": api.get(f"/api/tasks/{task.pk}"),
        "API toggle, token": api.post(f"/api/tasks/{task.pk}/toggle"),
        "API list, session": alice_client.get("/api/tasks"),
        "API 404": api.get("/api/tasks/999999"),
        "API 401": Client().get("/api/tasks"),
        "page 404": alice_client.get("/tasks/999999/"),
        "login page": Client().get("/accounts/login/"),
        "health": Client().get("/health/db"),
    }


def test_every_response_with_a_users_data_is_not_stored(private_responses):
    assert private_responses["list page"].status_code == 200
    assert private_responses["API list, token"].status_code == 200
    assert private_responses["CSV export"].status_code == 200
    for kind, response in private_responses.items():
        assert "no-store" in cache_directives(response), kind


def test_every_api_response_varies_on_authorization_and_cookie(private_responses):
    for kind, response in private_responses.items():
        if kind.startswith("API"):
            assert {"authorization", "cookie"} <= vary(response), kind


@override_settings(WHITENOISE_USE_FINDERS=True)
def test_static_files_keep_whitenoises_caching():
    # Decided: they show no one's data, and browsers may keep them.
    response = Client().get("/static/css/site.css")
    assert response.status_code == 200
    assert "no-store" not in cache_directives(response)


# --- HEAD ------------------------------------------------------------------------

# Headers that must be what GET sends (the rest, such as a request id or a
# freshly masked CSRF cookie, may differ from one request to the next).
SAME_AS_GET = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "Location",
    "Cache-Control",
    "Allow",
)


def head_get_urls(task) -> list[tuple[str, str]]:
    """(who, path) for every URL that answers GET."""
    signed_in = [
        "/",
        "/tasks/",
        "/tasks/?status=completed&page=2",
        "/tasks/new/",
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/edit/",
        f"/tasks/{task.pk}/delete/",
        "/tasks/999999/",
        "/accounts/",
        "/accounts/export.json",
        "/accounts/export.csv",
        "/accounts/tokens/",
        "/accounts/delete/",
        "/accounts/password_change/",
        "/api/tasks",
        f"/api/tasks/{task.pk}",
        "/api/tasks/999999",
        "/api/openapi.json",
        "/health/db",
    ]
    anonymous = ["/tasks/", "/accounts/login/", "/accounts/signup/", "/api/tasks"]
    return [("alice", path) for path in signed_in] + [
        ("anonymous", path) for path in anonymous
    ]


def test_head_answers_every_get_url_as_get_does_without_a_body(alice_client, task):
    for who, path in head_get_urls(task):
        client = alice_client if who == "alice" else Client()
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code, (who, path, head.status_code)
        assert get.status_code != 405, (who, path)
        for header in SAME_AS_GET:
            assert head.get(header) == get.get(header), (who, path, header)
        body = b"".join(head.streaming_content) if head.streaming else head.content
        assert body == b"", (who, path)


def test_head_with_a_token_answers_as_get_does(user, task, bearer):
    api = Client(headers=bearer)
    head = api.head("/api/tasks")
    assert head.status_code == 200
    assert head["Content-Type"] == "application/json; charset=utf-8"
    assert head.content == b""


def test_head_changes_nothing_and_is_logged_as_head(alice_client, task, caplog):
    before = list(Task.objects.for_user(task.user).values_list())
    with caplog.at_level("INFO", logger="todo.request"):
        alice_client.head(f"/tasks/{task.pk}/edit/")
    assert list(Task.objects.for_user(task.user).values_list()) == before
    (line,) = [json.loads(r.getMessage()) for r in caplog.records]
    assert line["method"] == "HEAD"


def test_post_only_urls_still_refuse_head_as_they_refuse_get(alice_client, task):
    for path in [f"/tasks/{task.pk}/toggle/", "/tasks/toggle-all/"]:
        assert alice_client.head(path).status_code == 405, path


def test_the_head_middleware_drops_the_body_itself():
    # The test client drops a HEAD body as most servers do; the middleware
    # does not count on the server.
    def view(request):
        assert request.method == "GET"
        return HttpResponse("body", headers={"Content-Length": "4"})

    def streaming_view(request):
        return StreamingHttpResponse(iter([b"body"]))

    request = RequestFactory().head("/")
    response = HeadAsGetMiddleware(view)(request)
    assert response.content == b""
    assert response["Content-Length"] == "4"
    assert request.method == "HEAD"
    response = HeadAsGetMiddleware(streaming_view)(RequestFactory().head("/"))
    assert b"".join(response.streaming_content) == b""
