from tests.settings_loader import STRONG_KEY
from tests.subprocess_env import run_manage

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": STRONG_KEY,
    "DJANGO_ALLOWED_HOSTS": "www.baltmet.example",
    "DATABASE_URL": "postgres://baltmet:baltmet@127.0.0.1:5432/baltmet",
}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(["check", "--deploy", "--fail-level", "DEBUG"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_reports_insecure_http_settings():
    # The same check fails when HTTPS hardening is switched off, so the clean run above means something.
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], {**PRODUCTION_ENV, "DJANGO_HTTPS": "0"})
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout
