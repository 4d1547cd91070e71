"""Labels survive a restart: posted to a real web process (uvicorn) about rows a real serving process logged,
they are there after both processes are killed and started again, and a repeat still replaces."""
from __future__ import annotations

import signal

import httpx
import pytest

from tests.studio.live import LiveStudio

from .conftest import serving_process

pytestmark = pytest.mark.slow

PUBLISH = """
from django.contrib.auth.models import User
from studio.deployments.services import publish
from studio.projects.models import Project
from tests.serving.conftest import train
from operators.library.sample_data import credit_default_table
state, model = train(n_train=1500, trees=20)
publish(project=Project.objects.get(name__startswith="Demo"), name="credit", model=model, feature_state=state,
        holdout=credit_default_table(300, seed=2), user=User.objects.get(username="admin"))
"""


def test_labels_survive_a_restart_of_the_web_and_serving_processes(tmp_path):
    studio = LiveStudio(tmp_path)  # its data dir is tmp_path/var, the one serving_process(tmp_path) uses
    try:
        studio.manage("shell", "-c", PUBLISH)
        from operators.library.sample_data import credit_default_table

        spec = studio.get("/api/deployments/")["results"][0]["input_spec"]
        table = credit_default_table(5, seed=3)
        rows = [{s["name"]: (None if r[s["name"]] != r[s["name"]] else r[s["name"]]) for s in spec}
                for r in table.to_dict("records")]
        with serving_process(tmp_path) as server:
            server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=10, what="live")
            status, answer = server.post_json("/v1/models/credit:predict", {"instances": rows})
            assert status == 200, answer
        request_id = answer["id"]  # the serving process flushed its log when it stopped
        labels = [{"request_id": request_id, "row": i, "label": i % 2} for i in range(5)]
        stored = studio.post("/api/deployments/credit/feedback/", {"labels": labels})
        assert stored["stored"] == 5 and stored["new"] == 5

        studio.stop(studio.web, signal.SIGKILL)
        studio.start_web()
        with serving_process(tmp_path) as server:
            server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=10, what="live again")
            deployment = studio.get("/api/deployments/")["results"][0]
            loop = studio.get(f"/api/deployments/{deployment['id']}/monitoring/?days=1")
            assert loop["feedback"]["total"] == 5
            assert sum(d["labeled"] for d in loop["live"]) == 5
            again = studio.post("/api/deployments/credit/feedback/", {"labels": labels[:2]})
            assert again["replaced"] == 2 and again["new"] == 0
        bob = httpx.post(studio.url("/api/deployments/credit/feedback/"), json={"labels": labels},
                         headers={"Authorization": f"Token {studio.bob_token}"}, timeout=30)
        assert bob.status_code == 404
    finally:
        studio.close()
