"""The serving process, started as `make run` starts it, holds no Django, no pyspark and no training code after
it has answered requests: asked at its end which modules it loaded, it names none of them.

The process is the real one (`python -m studio.serving`, uvicorn, the registry, the prediction log). A
`sitecustomize` module on its PYTHONPATH, which Python imports at start-up before anything else, installs a
SIGTERM handler that writes sorted(sys.modules) to a file. uvicorn puts that handler back after its graceful
shutdown and re-raises the signal, so the list is taken after every request and the prediction log's last
flush, and the command line is unchanged.

pipelines.bundle runs pipelines/__init__.py; that file loads the executor and validation (networkx, the
operator registry) only on first use of their names, which the serving path never makes."""
from __future__ import annotations

import json
import os

from pipelines.bundle import load_bundle, table_to_columns, write_registry

from .conftest import http, registry_models, serving_process, v2_binary, v2_json

HOOK = """
import json, os, signal, sys

def _dump_modules(signum, frame):
    with open(os.environ["SERVING_MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
    os._exit(0)

signal.signal(signal.SIGTERM, _dump_modules)
"""

KEPT_OUT = ("django", "pyspark", "sklearn", "pandas", "networkx", "operators.library", "pipelines.executor",
            "pipelines.validation", "pipelines.engines", "lightgbm.sklearn", "lightgbm.dask", "lightgbm.plotting")


def test_the_running_serving_process_loads_no_orm_spark_or_training_code(tmp_path, bundles, scoring_table):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    out = tmp_path / "modules.json"
    write_registry(tmp_path / "var" / "serving" / "registry.json", registry_models(bundles, live="1"))
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
           "SERVING_MODULES_OUT": str(out)}
    bundle = load_bundle(bundles["1"])
    columns = table_to_columns(scoring_table.head(5), bundle.input_spec)
    with serving_process(tmp_path, env) as server:
        server.wait_for(lambda: server.get("/v2/models/credit/ready")[0] == 200, what="model credit ready")
        # every path a client can take: JSON with explanations, binary tensors, v1 records, an error, metrics
        request = v2_json(columns, bundle.input_spec, parameters={"explain": True})
        assert http("POST", server.url + "/v2/models/credit/infer", json.dumps(request).encode())[0] == 200
        body, headers = v2_binary(columns, bundle.input_spec)
        assert http("POST", server.url + "/v2/models/credit/versions/2/infer", body, headers)[0] == 200
        names = {s["name"] for s in bundle.input_spec}
        record = {k: (None if isinstance(v, float) and v != v else v)
                  for k, v in scoring_table.head(1).to_dict("records")[0].items() if k in names}
        status, answer = server.post_json("/v1/models/credit:predict?explain=true", {"instances": [record]})
        assert status == 200, answer
        assert server.post_json("/v2/models/credit/infer", {"inputs": []})[0] == 400
        assert http("GET", server.url + "/metrics")[0] == 200
        log = server.data_dir / "serving" / "prediction_log"
        server.wait_for(lambda: any(log.rglob("*.parquet")), what="the prediction log written")
    loaded = json.loads(out.read_text())
    # the list is the process's own: what serving needs is in it
    for needed in ("studio.serving.app", "pipelines.bundle", "operators.kernels.features", "lightgbm.basic",
                   "uvicorn", "pyarrow.parquet"):
        assert needed in loaded, needed
    bad = [m for m in loaded if any(m == k or m.startswith(k + ".") for k in KEPT_OUT)]
    assert bad == [], f"the serving process loaded: {bad}"
