import locust  # noqa: F401 - first: it patches the standard library for gevent

from bench.cli import main

# Guarded: the data loader's worker processes import the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
