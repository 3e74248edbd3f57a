"""WSGI entry point: ``gunicorn todoproject.wsgi`` (see the Procfile)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todoproject.settings")

from todoproject.config import exit_on_bad_configuration

exit_on_bad_configuration()
application = get_wsgi_application()
