"""Reading the environment: typed values, and one clear line when a value is bad.

Settings are read once, in ``settings.py``; this module only knows how to read
a variable and how to fail. Error messages name the variable and the problem,
never its value, so a mistyped database URL does not print its password.
"""

import sys

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

SUPPORTED_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = env.str(name, default=None)
    return value.strip() if value is not None else None


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false.")


def number(name: str, default: float, *, kind: type = int, minimum: float = 0):
    value = _raw(name)
    if not value:
        return default
    try:
        parsed = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number.") from None
    if parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return parsed


def string(name: str, default: str | None = None) -> str | None:
    return _raw(name) or default


def choice(name: str, default: str, choices: list[str]) -> str:
    value = (_raw(name) or default).upper()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}.")
    return value


def csv(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_url(name: str, value: str) -> dict:
    """Parse a database URL, naming the variable (not the URL) when it is bad."""
    try:
        config = dj_database_url.parse(value)
    except Exception:  # dj-database-url raises several kinds, some with the URL
        config = None
    if config is None or config["ENGINE"] not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(
            f"{name} is not a valid database URL "
            "(expected postgresql://user:password@host/name or sqlite:///path)."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database.")
    return config


def email_url(name: str, default: str) -> dict:
    """Django's EMAIL_* settings from a URL such as smtp+tls://user:pw@host:587."""
    try:
        return env.email_url_config(_raw(name) or default)
    except Exception:  # the URL may hold a password: don't echo it
        raise ImproperlyConfigured(
            f"{name} is not a valid email URL (e.g. smtp+tls://user:pw@host:587)."
        ) from None


def exit_on_bad_configuration() -> None:
    """Stop with one line instead of a traceback when the settings are wrong."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - importing the settings is the check
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")
