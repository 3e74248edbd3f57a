"""Settings for the todo project.

Every value that differs between machines comes from the environment (or a
``.env`` file in the project root), read once here. The contract's
configuration table is the reference for each variable and its default.
"""

from pathlib import Path

import jinja2
from django.core.exceptions import ImproperlyConfigured

from todoproject import config, neon

BASE_DIR = Path(__file__).resolve().parent.parent

config.env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------

DEBUG = config.boolean("DEBUG", default=False)

SECRET_KEY = config.string("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set; it may only be left out with DEBUG=true."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105

_local_hosts = ["localhost", "127.0.0.1"] if DEBUG else []
ALLOWED_HOSTS = config.csv("ALLOWED_HOSTS", default=_local_hosts)
CSRF_TRUSTED_ORIGINS = config.csv("CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "todoproject.urls"
CSRF_FAILURE_VIEW = "todoproject.views.csrf_failure"
WSGI_APPLICATION = "todoproject.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "axes",
    # Named partials ({% partialdef %}): the fragments htmx swaps on the task
    # list are parts of the page's own template. Its loader is set up below,
    # in TEMPLATES, rather than by the app rewriting the settings.
    "template_partials.apps.SimpleAppConfig",
    "todoproject.apps.TodoProjectConfig",
    "accounts",
    "tasks",
]

MIDDLEWARE = [
    "todoproject.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep its caching headers.
    "todoproject.http_middleware.NoStoreMiddleware",
    "todoproject.http_middleware.HeadAsGetMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.auth.AuthenticationMiddleware",
    "accounts.auth.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "todoproject.middleware.MethodNotAllowedPageMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's default loaders (cached), behind the partials loader,
            # which serves "template.html#partial-name".
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The task list's rows only: see "Design notes" in the README.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "OPTIONS": {"undefined": jinja2.StrictUndefined},
    },
]

# --- Database ---------------------------------------------------------------

DATABASE_CONNECT_TIMEOUT = config.number("DATABASE_CONNECT_TIMEOUT", 10, minimum=1)
DATABASE_POOL_SIZE = config.number("DATABASE_POOL_SIZE", 4, minimum=1)
DATABASE_POOL_TIMEOUT = config.number(
    "DATABASE_POOL_TIMEOUT", 10, kind=float, minimum=0.1
)


def _database(name: str, url: str) -> dict:
    return neon.database(
        config.database_url(name, url),
        connect_timeout=DATABASE_CONNECT_TIMEOUT,
        pool_size=DATABASE_POOL_SIZE,
        pool_timeout=DATABASE_POOL_TIMEOUT,
    )


DATABASE_URL = config.string("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASE_URL_DIRECT = config.string("DATABASE_URL_DIRECT")
DATABASE_URL_TEST = config.string("DATABASE_URL_TEST")

DATABASES = {"default": _database("DATABASE_URL", DATABASE_URL)}
if DATABASE_URL_DIRECT:
    # Only `manage.py migrate` uses this alias (see todoproject's migrate
    # command); requests always go through the pooled DATABASE_URL.
    DATABASES["direct"] = _database("DATABASE_URL_DIRECT", DATABASE_URL_DIRECT)
    DATABASES["direct"]["TEST"] = {"MIRROR": "default"}

# A read replica (on Neon, the replica's pooled URL): reads go there unless
# the request or the browser may tell (todoproject/replica). Unset, there is
# no replica alias, router or middleware at all.
DATABASE_URL_REPLICA = config.string("DATABASE_URL_REPLICA")
# How long a browser that wrote reads from the primary: longer than the
# replica's lag, so nobody misses their own change.
REPLICA_PIN_SECONDS = config.number("DATABASE_REPLICA_PIN_SECONDS", 5, minimum=1)
if DATABASE_URL_REPLICA:
    DATABASES["replica"] = _database("DATABASE_URL_REPLICA", DATABASE_URL_REPLICA)
    if not all(neon.is_postgres(DATABASES[alias]) for alias in DATABASES):
        raise ImproperlyConfigured(
            "DATABASE_URL_REPLICA needs PostgreSQL URLs, for it and DATABASE_URL."
        )
    # Neon's backend, which falls back on the primary when the replica is away.
    DATABASES["replica"]["ENGINE"] = neon.REPLICA_ENGINE
    DATABASE_ROUTERS = ["todoproject.replica.ReplicaRouter"]
    # Before the session middleware, so that saving a session counts as a
    # write (and pins the browser to the primary).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "todoproject.replica.ReplicaMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.auth.ModelBackend",
]

PASSWORD_HASHERS = [
    # Django's Argon2 with smaller parameters (accounts/hashers.py).
    "accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tasks:list"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes, with the rules of accounts.throttling): ten
# failures of one username (from any addresses), or a hundred from one address
# (any usernames), lock further attempts for the cool-off period. A success
# clears its own username's failures only.
AXES_HANDLER = "accounts.throttling.LoginThrottle"
AXES_FAILURE_LIMIT = config.number("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = config.number(
    "LOGIN_ADDRESS_FAILURE_LIMIT", 100, minimum=1
)
AXES_COOLOFF_TIME = config.number("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Axes stores a failed attempt's form data; password change posts new ones.
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "old_password",
    "new_password1",
    "new_password2",
]
# Behind a proxy every client shares the proxy's address; count failures per
# the address the proxy saw instead (accounts.throttling.client_ip).
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_ip"

# --- Email (password reset, address confirmation) -------------------------------

# Without EMAIL_URL, mail is printed to the console with DEBUG=true and dropped
# otherwise: in production the console is the log, and a password-reset link
# printed there lets whoever reads the logs take the account. `manage.py check
# --deploy` warns that mail is not sent (todo.W002).
vars().update(
    config.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "dummymail://")
)
DEFAULT_FROM_EMAIL = config.string("DEFAULT_FROM_EMAIL", "todo@localhost")

# --- Sessions and messages ------------------------------------------------------

# Database sessions (revocable on logout) whose row carries the user, so an
# authenticated request loads session and user in one query.
SESSION_ENGINE = "accounts.auth"
# Messages ride in a cookie: showing one costs no query and no session write.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# --- Cache ----------------------------------------------------------------------

# None, on purpose. Several instances serve one user (README, "Running more
# than one instance"), and Django's default, a cache in each process's memory,
# would let each instance answer from what it alone had seen. Nothing here
# uses a cache: sessions, login failures and messages live in the database or
# the cookie. The dummy backend makes a future use cache nothing, visibly,
# rather than work on one instance only; a feature that needs a cache should
# use one every instance shares (the database cache, or Redis).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# --- Static files ---------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Run `manage.py collectstatic` when building a release. Should a file be
# missing from the manifest, pages (the 500 and 503 pages above all) still
# render, with the unhashed URL, instead of failing.
WHITENOISE_MANIFEST_STRICT = False

# --- Internationalisation -------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = config.boolean("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer's health check asks each instance directly, over plain HTTP
# and without X-Forwarded-Proto: a redirect would mark every instance down.
SECURE_REDIRECT_EXEMPT = [r"^health/db$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# The "preload" directive consents to having the whole domain hard-coded as
# HTTPS-only in browsers (hstspreload.org), which is slow to undo and a
# decision for the domain's owner, not for this app. Django's deploy check
# asks for it (security.W021); it is the one check silenced on purpose.
SECURE_HSTS_PRELOAD = False
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if config.boolean("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips what
    # clients send; otherwise any client could claim to be on HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- Logging --------------------------------------------------------------------

# One JSON line per request on stdout (todoproject.middleware.RequestLogMiddleware);
# warnings and errors from everything else alongside.
LOG_LEVEL = config.choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s %(message)s"},
        "message": {"format": "%(message)s"},
    },
    "filters": {
        # Django's own lines name the path, which may hold a reset token.
        "redact_paths": {"()": "todoproject.middleware.RedactSecretPaths"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        },
        "requests": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "message",
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "todo.request": {
            "handlers": ["requests"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # Each request is already logged once, by the line above.
        "django.request": {
            "handlers": ["console"],
            "level": "ERROR",
            "filters": ["redact_paths"],
            "propagate": False,
        },
    },
}
