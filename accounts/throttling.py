"""Login throttling: what counts as locked, and which address a login comes from.

django-axes records the failures (in the database, so every app instance sees
the same counts), refuses locked attempts in its authentication backend and
answers them with the lockout page from its middleware. Two rules of the
contract are beyond its settings, so they live here, in its handler:

- Two limits. Axes compares one count with one limit (``AXES_FAILURE_LIMIT``,
  10 failures of a username from any addresses); the per-address limit
  (``LOGIN_ADDRESS_FAILURE_LIMIT``, 100 failures of any usernames) is checked
  beside it.
- A success clears only its own username's failures. Axes' reset deletes
  every record matching any lockout parameter, the address's included, so a
  login to one's own account (or a signup) wiped the failures an attacker had
  run up against a victim from the same address.
"""

import ipaddress
import threading
from functools import wraps

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Q, Sum
from django.http import HttpRequest
from django.shortcuts import render


class LoginThrottle(AxesDatabaseHandler):
    def get_failures(
        self, request: HttpRequest, credentials: dict | None = None
    ) -> int:
        """Recent failures of the username, compared with the per-username
        limit; an address at its own limit counts as that limit reached."""
        username = get_client_username(request, credentials)
        by_username = Q(username=username)
        by_address = Q(ip_address=request.axes_ip_address)
        # One query for both counts: a login already costs a few.
        counts = AccessAttempt.objects.filter(
            by_username | by_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(
            username=Sum("failures_since_start", filter=by_username),
            address=Sum("failures_since_start", filter=by_address),
        )
        failures = counts["username"] or 0
        if (counts["address"] or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict | None = None
    ) -> int:
        """After a successful login (or a signup): that username's failures,
        from every address, and nobody else's."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def is_current_password(request: HttpRequest, password: str) -> bool:
    """Whether ``password`` is the signed-in user's, checked as a login.

    Going through ``authenticate()`` puts the check behind the throttle: a
    wrong password counts as a failed login of the username, and a locked
    username or address is refused without looking at the password (axes'
    middleware then answers with the lockout page). Password change and
    account deletion ask this, so they cannot serve as an unthrottled oracle.
    """
    user = authenticate(
        request, username=request.user.get_username(), password=password
    )
    return user is not None and user.pk == request.user.pk


def _address(value: str) -> str | None:
    """``value`` as a canonical IP address, or None if it is not one."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6:
        if address.scope_id:
            return None  # fe80::1%eth0: no client sends that; inet refuses it
        # ::ffff:192.0.2.1 is 192.0.2.1 and must be counted as the same client.
        address = address.ipv4_mapped or address
    return str(address)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the one trusted proxy in front of us saw it.

    Behind a proxy (SECURE_PROXY_SSL_HEADER configured, as the README asks
    for Heroku, Render, Fly or a load balancer) REMOTE_ADDR is the proxy's
    address, shared by every client: locking it out would lock out everyone.
    The proxy appends the address it saw to X-Forwarded-For; entries to the
    left of it are whatever the client claimed, so only the last one counts.
    A last entry that is not an address (a proxy that did not append, or a
    client's garbage) is not trusted either: the socket's address is used.
    """
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        appended = _address(forwarded.rsplit(",", 1)[-1])
        if appended:
            return appended
    return _address(request.META.get("REMOTE_ADDR", ""))


# Hashing a password is ~35 ms of CPU (Argon2 at OWASP's baseline), and the
# threads of a process serve requests first come, first served: fifty logins
# sent at once (a spray over many usernames, which no lock stops) would queue
# every other request behind seconds of hashing. So each process checks one
# password at a time, and a login or signup that finds the check busy is
# answered at once with 429 and Retry-After instead of waiting in line: a
# limit on capacity, like a full connection pool, not a verdict on the user.
_password_check = threading.BoundedSemaphore(1)


def one_password_check_at_a_time(view):
    """Let ``view``'s POSTs run one at a time per process; 429 when busy."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if not _password_check.acquire(blocking=False):
            response = render(request, "registration/busy.html", status=429)
            response["Retry-After"] = "1"
            return response
        try:
            return view(request, *args, **kwargs)
        finally:
            _password_check.release()

    return wrapped
