"""The password hasher: Argon2id at OWASP's baseline, and old hashes upgraded.

The test settings hash with MD5 for speed; these tests name the production
hasher explicitly."""

import pytest
from argon2 import Type
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings

from accounts.hashers import Argon2PasswordHasher
from tests.factories import PASSWORD
from todoproject import settings as production

pytestmark = pytest.mark.django_db

OURS = "accounts.hashers.Argon2PasswordHasher"
OWASP_BASELINE = "m=19456,t=2,p=1"  # 19 MiB, 2 iterations, 1 lane
DJANGOS_DEFAULT = "m=102400,t=2,p=8"


def test_production_settings_hash_with_this_hasher_first():
    assert production.PASSWORD_HASHERS[0] == OURS


def test_the_hasher_is_argon2id_at_owasps_baseline():
    encoded = Argon2PasswordHasher().encode(PASSWORD, "somesaltsomesalt")
    assert encoded.startswith("argon2$argon2id$v=19$")
    assert f"${OWASP_BASELINE}$" in encoded
    assert Argon2PasswordHasher().params().type is Type.ID


@override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS)
def test_a_hash_made_with_djangos_defaults_is_upgraded_on_the_next_login():
    old_hash = make_password(PASSWORD, hasher=DjangoArgon2())
    assert f"${DJANGOS_DEFAULT}$" in old_hash
    user = get_user_model().objects.create(username="legacy", password=old_hash)

    response = Client().post(
        "/accounts/login/", {"username": "legacy", "password": PASSWORD}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert f"${OWASP_BASELINE}$" in user.password
    assert user.check_password(PASSWORD)


@override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS)
def test_a_failed_login_leaves_the_old_hash_alone():
    old_hash = make_password(PASSWORD, hasher=DjangoArgon2())
    user = get_user_model().objects.create(username="legacy", password=old_hash)

    response = Client().post(
        "/accounts/login/", {"username": "legacy", "password": "wrong"}
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password == old_hash
