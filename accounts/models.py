import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "todo_"  # noqa: S105 - a marker, not a secret
# Writing last_used_at on every API call would turn every read into a write;
# once a minute is precise enough to tell an active token from a stale one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no salt, no
    # stretching); only this digest is stored, and lookups compare digests.
    return hashlib.sha256(raw.encode()).hexdigest()


class AccessTokenQuerySet(models.QuerySet):
    def for_user(self, user) -> "AccessTokenQuerySet":
        return self.filter(user=user)

    def issue(self, user, name: str) -> tuple["AccessToken", str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name, token_hash=hash_token(raw))
        return token, raw

    def authenticate(self, raw: str):
        """The active user a raw token belongs to, or None (one query)."""
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
            return None
        token = (
            self.select_related("user", "user__profile")
            .filter(token_hash=hash_token(raw), user__is_active=True)
            .first()
        )
        if token is None:
            return None
        token.touch()
        return token.user


class AccessToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > LAST_USED_RESOLUTION:
            AccessToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class UserSession(AbstractBaseSession):
    """A database session that knows its user, so both load in one query.

    Sessions stay server-side (logging out, or deleting the user, removes the
    row and revokes the cookie), unlike signed-cookie sessions.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )

    @classmethod
    def get_session_store_class(cls):
        from .auth import SessionStore

        return SessionStore


@cache
def time_zone_names() -> list[str]:
    """Every IANA zone name the server's zone database knows, sorted."""
    return sorted(zoneinfo.available_timezones())


@cache
def _zone_names_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in time_zone_names()}


def canonical_time_zone(value: str) -> str | None:
    """The zone name ``value`` spells, in its proper case ("europe/berlin"
    gives "Europe/Berlin"), or None if it names no zone."""
    return _zone_names_by_folded_name().get(value.strip().casefold())


def validate_time_zone(value: str) -> None:
    if value not in set(time_zone_names()):
        raise ValidationError(
            "Choose a time zone from the list, such as Europe/Berlin.",
            code="invalid_time_zone",
        )


class Profile(models.Model):
    """What a user chose about themselves beyond Django's ``User``.

    Made with the user (``accounts.signals``) and loaded with it, joined to
    the session's and the token's query: reading it costs no query.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")  # a zone the server no longer knows


def profile_of(user) -> Profile:
    """``user.profile``, or an unsaved one with the defaults (UTC) for a user
    made without one (``bulk_create`` sends no signal). Free when the profile
    came with the user (the session's and the token's queries join it)."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user_id=user.pk)


class CalendarFeed(models.Model):
    """A user's secret calendar subscription address, ``/calendar/<token>.ics``.

    Only the token's SHA-256 is stored (as for API tokens). One per user:
    making a new one replaces the hash in place, so the old address stops
    working in the same statement.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_feed",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.user}'s calendar feed"
