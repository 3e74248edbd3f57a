#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todoproject.settings")
    from django.core.management import execute_from_command_line

    from todoproject.config import exit_on_bad_configuration

    exit_on_bad_configuration()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
