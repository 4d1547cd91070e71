"""The serving process keeps freed blocks for reuse (studio.serving.keep_freed_memory): with glibc's defaults a
few MB allocated and freed together (as the prediction log's writer does per drain: a column of 65,536 rows is
512 KB) may be mapped anew and every page faulted in again each time; with the setting, the second time costs
no page fault. Checked by counting minor page faults (getrusage), in a plain process and in the real serving
process started as `make run` starts it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from pipelines.bundle import write_registry
from tests.conftest import REPO

from .conftest import registry_models, serving_process

# 8 blocks of 512 KB allocated, then freed; the page faults of 20 more rounds, per round (1,024 pages a round
# when each round is mapped anew).
FAULTS_PER_ROUND = """
import resource
import numpy as np

def faults_per_round():
    def one():
        blocks = [np.ones(65536) for _ in range(8)]
        del blocks
    one()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        one()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
"""


def _faults(setup: str) -> float:
    code = FAULTS_PER_ROUND + setup + "\nprint(faults_per_round())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def test_freed_blocks_are_reused_without_page_faults_once_the_setting_is_made():
    assert _faults("") > 500  # glibc's defaults: each round's blocks faulted in again
    assert _faults("from studio.serving import keep_freed_memory\nassert keep_freed_memory()") < 10


def test_the_serving_entry_point_makes_the_setting(tmp_path, bundles):
    hook = tmp_path / "hook"
    hook.mkdir()
    # At SIGTERM (after start-up, the app and its log running), the real process counts the faults itself.
    (hook / "sitecustomize.py").write_text(FAULTS_PER_ROUND + """
import json, os, signal

def _report(signum, frame):
    with open(os.environ["SERVING_FAULTS_OUT"], "w") as out:
        json.dump(faults_per_round(), out)
    os._exit(0)

signal.signal(signal.SIGTERM, _report)
""")
    out = tmp_path / "faults.json"
    write_registry(tmp_path / "var" / "serving" / "registry.json", registry_models(bundles, live="1"))
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
           "SERVING_FAULTS_OUT": str(out)}
    with serving_process(tmp_path, env) as server:
        server.wait_for(lambda: server.get("/v2/models/credit/ready")[0] == 200, what="model credit ready")
    assert json.loads(out.read_text()) < 10
