"""Which address a login attempt comes from, for django-axes' lockouts."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the one trusted proxy in front of us saw it.

    Behind a proxy (SECURE_PROXY_SSL_HEADER configured, as the README asks
    for Heroku, Render, Fly or a load balancer) REMOTE_ADDR is the proxy's
    address, shared by every client: locking it out would lock out everyone.
    The proxy appends the address it saw to X-Forwarded-For; entries to the
    left of it are whatever the client claimed, so only the last one counts.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:45] or None
    return request.META.get("REMOTE_ADDR")
