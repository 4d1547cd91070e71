"""The canvas's API types (frontend/src/api/schema.d.ts) are the ones `make api-types` makes from the API's OpenAPI
schema today: a serializer change that was not followed by `make api-types` fails here, naming the command."""
from __future__ import annotations

import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def test_the_committed_api_types_are_generated_from_the_current_schema(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--file", str(tmp_path / "openapi.yaml"))
    generator = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
    assert generator.exists(), "the canvas's node_modules are missing: run `make frontend` (npm ci) first"
    # the generator of package.json's "api-types" script, writing to a temporary file instead of src/api/
    subprocess.run([str(generator), str(tmp_path / "openapi.yaml"), "-o", str(tmp_path / "schema.d.ts")],
                   cwd=FRONTEND, check=True, capture_output=True, timeout=120)
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text()
    assert (tmp_path / "schema.d.ts").read_text() == committed, \
        "frontend/src/api/schema.d.ts differs from the API's schema: run `make api-types` and commit the result"
