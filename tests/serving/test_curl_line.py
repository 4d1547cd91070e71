"""The deployment page's curl line, run by a real shell: a held-out value with shell syntax in it stays data."""
from __future__ import annotations

import json
import subprocess

from studio.deployments.services import curl_line


def _arguments_in_a_shell(line: str) -> list[str]:
    """The arguments /bin/sh hands curl for this line (curl replaced by a function that prints them, one a line
    as NUL-separated words), with $SERVING_KEY set as the page says to."""
    script = f"curl() {{ printf '%s\\0' \"$@\"; }}\nSERVING_KEY=k123\n{line}\n"
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True, timeout=10)
    return out.stdout.decode().split("\0")[:-1]


def test_a_row_with_quotes_and_shell_syntax_reaches_curl_as_one_json_argument(tmp_path):
    marker = tmp_path / "ran"
    row = {"name": "O'Brien", "note": f"$(touch {marker}) `touch {marker}` '; touch {marker}; '", "amount": 12.5,
           "city": None}
    arguments = _arguments_in_a_shell(curl_line("credit", row))
    assert not marker.exists()  # nothing in the row ran as a command
    assert json.loads(arguments[arguments.index("-d") + 1]) == {"instances": [row]}
    assert "Authorization: Bearer k123" in arguments and arguments[-2] == "-d"
    assert arguments[arguments.index("-X") + 2].endswith("/v1/models/credit:predict")


def test_a_plain_row_still_reads_as_before():
    line = curl_line("credit", {"age": 41})
    assert line.startswith("curl -s -X POST ") and line.endswith("""-d '{"instances": [{"age": 41}]}'""")


def test_a_quote_is_escaped_as_the_page_reads_it():
    """frontend/src/deployments/curl.ts finds the body as -d '...' with each ' written '\\'' (and swaps in the
    Try it form's row): the server writes the same form."""
    line = curl_line("credit", {"name": "O'Brien"})
    assert line.endswith("""-d '{"instances": [{"name": "O'\\''Brien"}]}'""")
