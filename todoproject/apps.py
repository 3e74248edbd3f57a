from django.apps import AppConfig


class TodoProjectConfig(AppConfig):
    """The project package as an app: system checks and the migrate command."""

    name = "todoproject"
    verbose_name = "Todo project"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks
        from .neon import checks as neon_checks  # noqa: F401
