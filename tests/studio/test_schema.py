"""schemathesis against /api/schema/ of a live studio, authenticated: no server error, no undocumented status
or content type, no response that violates the schema. Examples, coverage, fuzzing and stateful phases."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.studio.live import LiveStudio

pytestmark = pytest.mark.slow

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path):
    studio = LiveStudio(tmp_path / "studio")
    try:
        cli = Path(sys.executable).with_name("schemathesis")
        done = subprocess.run([str(cli), "run", studio.url("/api/schema/"),
                               "-H", f"Authorization: Token {studio.token}",
                               "--checks", CHECKS, "--max-examples", "5", "--max-time", "45", "--seed", "20261125",
                               "--request-timeout", "30", "--no-color", "--output-truncate", "true"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, (f"exit {done.returncode}\n" + done.stdout[-12000:] + done.stderr[-3000:]
                                      + studio.logs())
        passed = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
        assert passed and int(passed.group(1)) == int(passed.group(2)) > 500, done.stdout
        assert "failures" not in done.stdout.splitlines()[-1], done.stdout
    finally:
        studio.close()
