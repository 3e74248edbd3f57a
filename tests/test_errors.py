"""Error pages: in the site's layout, and the 500 and 503 ones without a database."""

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from todoproject import views


def _raised(exception):
    """Call the 500 handler the way Django does: while the exception is handled."""
    request = RequestFactory().get("/tasks/")
    try:
        raise exception
    except Exception:
        return views.server_error(request)


def test_500_page_renders_without_touching_the_database():
    # No db fixture: any query here would fail the test.
    response = _raised(ValueError("a bug"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert 'href="/static/css/site.css"' in body
    assert "a bug" not in body


def test_database_outage_is_a_friendly_503_not_a_500():
    response = _raised(OperationalError("connection refused"))
    assert response.status_code == 503
    assert response["Retry-After"]
    body = response.content.decode()
    assert "Temporarily unavailable" in body
    assert "connection refused" not in body


def test_api_errors_are_json():
    request = RequestFactory().get("/api/tasks")
    try:
        raise OperationalError("down")
    except OperationalError:
        response = views.server_error(request)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_404_page_is_in_the_sites_layout(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "<h1>Page not found</h1>" in body
    assert 'class="site-header"' in body
