"""Every public page of the seed content is valid HTML by the Nu HTML Checker (vnu.jar).

The pages are fetched with Django's test client and checked in one run of the checker, one
Java start for all of them. Marked `browser` with the Chromium tests: like them it needs what
`make test` installs (the npm package vnu-jar, from package-lock.json) and Java.
"""

import json
import shutil
import subprocess

import pytest
from django.core.management import call_command

from tests.browser.conftest import SEED_FIXTURES, VNU_JAR, require_file
from tests.browser.pages import NOT_FOUND, public_pages

pytestmark = pytest.mark.browser


def test_every_public_page_is_valid_html(client, db, tmp_path):
    jar = require_file(VNU_JAR, "The Nu HTML Checker (npm package vnu-jar)")
    java = shutil.which("java")
    if not java:
        pytest.fail("Java is not installed; the Nu HTML Checker needs Java 11 or later "
                    "(Debian: apt-get install default-jre-headless).", pytrace=False)
    call_command("loaddata", *SEED_FIXTURES, verbosity=0)

    files = {}
    for index, path in enumerate(public_pages()):
        response = client.get(path)
        assert response.status_code == (404 if path == NOT_FOUND else 200), path
        assert response["Content-Type"].startswith("text/html"), path
        file = tmp_path / f"page-{index:02d}.html"
        file.write_bytes(response.content)
        files[file.name] = path

    result = subprocess.run(
        [java, "-jar", str(jar), "--errors-only", "--format", "json", "--exit-zero-always", *map(str, sorted(tmp_path.glob("page-*.html")))],
        capture_output=True, text=True, timeout=180,
    )
    # The JSON report goes to standard error.
    report = json.loads(result.stderr or result.stdout)
    errors = [message for message in report["messages"] if message["type"] in ("error", "non-document-error")]
    described = [
        f"{files.get(message.get('url', '').rsplit('/', 1)[-1], message.get('url'))} line {message.get('lastLine')}: "
        f"{message['message']}\n    {message.get('extract', '').strip()}"
        for message in errors
    ]
    assert not errors, "the Nu HTML Checker found errors:\n" + "\n".join(described)
    assert len(files) >= 15
