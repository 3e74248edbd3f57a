"""Test settings: the production settings, on the test database, with the few
differences tests really need."""

import os

# Tests run with DEBUG off, like production, so they need some secret key.
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)

from todoproject.settings import *  # noqa: F403
from todoproject.settings import DATABASE_URL_TEST, _database

DATABASES = {
    "default": _database("DATABASE_URL_TEST", DATABASE_URL_TEST or "sqlite://:memory:")
}
# A DATABASE_URL_REPLICA in the environment is not the tests' replica: the
# replica's tests start their own (tests/test_replica_live.py).
DATABASE_ROUTERS = []
MIDDLEWARE = [m for m in MIDDLEWARE if m != "todoproject.replica.ReplicaMiddleware"]  # noqa: F405

# Argon2 is deliberately slow; tests log users in hundreds of times. Through
# the load balancer (tests/support/balancer.py) the instances check the
# passwords the tests set, with the production hashers.
if not os.environ.get("TEST_BALANCER_URL"):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests serve static files from the source folders, without collectstatic.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

# The test client speaks plain HTTP; HTTPS redirects are tested explicitly.
SECURE_SSL_REDIRECT = False
