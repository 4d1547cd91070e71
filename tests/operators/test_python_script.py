"""python_script: off unless STUDIO_ALLOW_SCRIPTS=1; user code in a confined child process (operators.sandbox)
that sees its inputs and nothing of the studio: no environment secrets, no database or data-dir files, no
/proc of the worker, no network, no signals to the worker; limits on time and memory; errors in the user's
lines. The live test (tests/studio/test_script_live.py) runs these through the real worker."""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError
from operators.sandbox import landlock_abi
from pipelines.graph import from_json
from pipelines.validation import validate

pytestmark = pytest.mark.skipif(landlock_abi() < 6, reason="needs Linux Landlock ABI 6 (this machine has it)")


@pytest.fixture
def allowed(monkeypatch):
    monkeypatch.setenv("STUDIO_ALLOW_SCRIPTS", "1")


@pytest.fixture
def table():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"income": rng.integers(1000, 9000, 200).astype(float), "debt": rng.uniform(0, 500, 200),
                         "city": rng.choice(["a", "b"], 200)})


def script(body: str) -> str:
    return "import os, numpy as np, pandas as pd\n\ndef run(tables, params):\n" + body


def test_scripts_are_off_by_default_with_a_validation_error_saying_so(monkeypatch, run, table):
    monkeypatch.delenv("STUDIO_ALLOW_SCRIPTS", raising=False)
    graph = from_json({"format": "studio.pipeline/1", "name": "s", "nodes": [
        {"id": "src", "operator": "import_csv", "params": {"path": "x.csv"}},
        {"id": "py", "operator": "python_script", "params": {"code": script("    return {'table': tables['t1']}")}}],
        "edges": [{"source": "src", "source_port": "table", "target": "py", "target_port": "t1"}]})
    errors = [e for e in validate(graph) if e.node == "py"]
    assert len(errors) == 1 and errors[0].field == "code" and errors[0].code == "invalid_params"
    assert "STUDIO_ALLOW_SCRIPTS=1" in errors[0].message
    with pytest.raises(Exception, match="STUDIO_ALLOW_SCRIPTS=1"):
        run("python_script", {"t1": table}, code=script("    return {'table': tables['t1']}"))


def test_a_script_transforms_its_tables_with_its_params(allowed, run, table):
    out = run("python_script", {"t1": table, "t2": table.head(3)}, params={"cap": 0.05}, code=script(
        "    df = tables['t1']\n"
        "    df = df.assign(ratio=(df.debt / df.income).clip(upper=params['cap']))\n"
        "    return {'table': df, 'second': tables['t2'][['city']]}\n"))
    expected = (table.debt / table.income).clip(upper=0.05)
    np.testing.assert_allclose(out["table"]["ratio"], expected, rtol=1e-15)
    assert out["second"]["city"].tolist() == table["city"].head(3).tolist()


def test_a_user_error_shows_the_line_of_the_users_code(allowed, run, table):
    with pytest.raises(OperatorError) as err:
        run("python_script", {"t1": table}, code=script("    x = 1\n    y = x + undefined_name\n    return {}\n"))
    assert err.value.field == "code"
    assert err.value.message.startswith("NameError: name 'undefined_name' is not defined (line 5 in run: "
                                        "y = x + undefined_name)")
    with pytest.raises(OperatorError, match=r"SyntaxError at line 2"):
        run("python_script", {"t1": table}, code="def run(tables, params):\nreturn 1\n")
    with pytest.raises(OperatorError, match="must return a dict with a 'table' DataFrame, not list"):
        run("python_script", {"t1": table}, code=script("    return [1]\n"))
    with pytest.raises(OperatorError, match="defines no function run"):
        run("python_script", {"t1": table}, code="x = 1\n")


def test_no_secret_file_database_network_or_signal_is_within_reach(allowed, run, table, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "studio-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/studio")
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    sqlite3.connect(data_dir / "studio.sqlite3").execute("CREATE TABLE auth_user (password TEXT)").connection.close()
    (data_dir / "secret_key").write_text("studio-secret")
    probes = {
        "env": "    return os.environ['SECRET_KEY']\n",
        "database_url": "    return os.environ['DATABASE_URL']\n",
        "db": f"    import sqlite3\n    return sqlite3.connect({str(data_dir / 'studio.sqlite3')!r})"
              ".execute('select * from auth_user').fetchall()\n",
        "secret_file": f"    return open({str(data_dir / 'secret_key')!r}).read()\n",
        "listing": f"    return os.listdir({str(data_dir)!r})\n",
        "worker_environ": "    return open(f'/proc/{os.getppid()}/environ').read()\n",
        "network": "    import socket\n    return socket.create_connection(('127.0.0.1', 5432), timeout=5)\n",
        "udp": "    import socket\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "    return s.sendto(b'x', ('8.8.8.8', 53))\n",
        "signal": "    import signal\n    return os.kill(os.getppid(), signal.SIGTERM)\n",
    }
    for name, body in probes.items():
        with pytest.raises(OperatorError) as err:
            run("python_script", {"t1": table}, code=script(body))
        message = err.value.message
        assert "studio-secret" not in message, name
        assert message.startswith(("KeyError", "PermissionError", "OSError", "sqlite3.OperationalError",
                                    "OperationalError")), (name, message)


def test_an_endless_loop_and_a_huge_allocation_are_stopped(allowed, run, table):
    with pytest.raises(OperatorError) as err:
        run("python_script", {"t1": table}, timeout_seconds=2, code=script("    while True:\n        pass\n"))
    assert err.value.message == "the script was stopped after its time limit of 2 s (timeout_seconds)"
    with pytest.raises(OperatorError) as err:
        run("python_script", {"t1": table}, memory_mb=512, code=script("    x = bytearray(10 * 2**30)\n"))
    assert err.value.message == "the script went over its memory limit of 512 MiB (memory_mb)"
    with pytest.raises(OperatorError) as err:
        run("python_script", {"t1": table}, memory_mb=512, code=script("    x = np.ones(10 * 2**30 // 8)\n"))
    assert "memory limit" in err.value.message
    assert os.getpid()  # this process (the worker's stand-in) is alive and runs the next script
    out = run("python_script", {"t1": table}, code=script("    return {'table': tables['t1'].head(2)}\n"))
    assert len(out["table"]) == 2
