"""Repeated failed admin logins from one client lock that client out (django-axes)."""

import pytest


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_user("editor", password="correct-horse-battery", is_staff=True)


def _login(client, password, address="203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "editor", "password": password},
        REMOTE_ADDR=address,
    )


def test_correct_password_logs_in(client, db, editor):
    assert _login(client, "correct-horse-battery").status_code == 302


def test_client_is_locked_out_after_the_failure_limit(client, db, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, with an error
    locked = _login(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Now even the right password is refused from this address...
    assert _login(client, "correct-horse-battery").status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_client_address(client, db, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong", address="203.0.113.7")
    assert _login(client, "correct-horse-battery", address="198.51.100.20").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, db, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "correct-horse-battery").status_code == 302
    client.logout()
    assert _login(client, "wrong").status_code == 200
