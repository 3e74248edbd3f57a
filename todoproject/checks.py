from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security)
def check_allowed_hosts(app_configs=None, **kwargs):
    if settings.DEBUG or settings.ALLOWED_HOSTS:
        return []
    return [
        Warning(
            "ALLOWED_HOSTS is empty, so every request will be refused (400).",
            hint="Set ALLOWED_HOSTS to the site's host names, comma-separated.",
            id="todo.W001",
        )
    ]


# Backends that deliver no mail: it is dropped, kept in memory, or written
# where only the operator can read it (the console is the log).
UNDELIVERED_MAIL = {
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@register(Tags.security, deploy=True)
def check_mail_is_delivered(app_configs=None, **kwargs):
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERED_MAIL:
        return []
    return [
        Warning(
            "Mail is not sent (EMAIL_URL is not set, or names no mail server), "
            "so password-reset and address-confirmation links never reach users.",
            hint="Set EMAIL_URL to an SMTP server, "
            "e.g. smtp+tls://user:password@smtp.example.com:587.",
            id="todo.W002",
        )
    ]
