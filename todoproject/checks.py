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
