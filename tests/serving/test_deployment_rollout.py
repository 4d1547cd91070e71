"""Keys, canary / promote / rollback, shadow and settings through the studio API, against a real serving
process that requires keys (SERVING_REQUIRE_KEYS=1, the default of `make run` and docker/)."""
from __future__ import annotations

import json
import threading

from .conftest import http, serving_process
from .test_deployments import finished_run, studio  # noqa: F401  (the `studio` fixture)

KEYS_ON = {"SERVING_REQUIRE_KEYS": "1"}


def _records(result, n=1):
    rows = result.output("split", "second").head(n)
    inputs = [c for c in rows.columns if c not in ("default", "customer_id", "application_date")]
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if k in inputs}
            for r in rows.to_dict("records")]


def _predict(server, records, key=None, request_id=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if request_id:
        headers["X-Request-Id"] = request_id
    status, answer_headers, body = http("POST", f"{server.url}/v1/models/credit:predict",
                                        json.dumps({"instances": records}).encode(), headers)
    return status, json.loads(body) if body else None


def test_keys_shown_once_regenerated_without_downtime_and_carried_by_try_it_and_curl(studio, settings):  # noqa: F811
    run, result = finished_run(studio, seed=1)
    records = _records(result)
    with serving_process(studio.tmp, KEYS_ON) as server:
        settings.SERVING_URL = server.url
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json")
        assert answer.status_code == 201, answer.json()
        body = answer.json()
        primary, secondary = body["new_keys"]["primary"], body["new_keys"]["secondary"]
        server.wait_for(lambda: _predict(server, records, primary)[0] == 200, what="live with its key")
        assert _predict(server, records)[0] == 401
        assert _predict(server, records, "sk_wrong")[0] == 401
        assert _predict(server, records, secondary)[0] == 200

        detail = studio.as_alice.get(f"/api/deployments/{body['id']}/")
        text = json.dumps(detail.json())
        assert primary not in text and secondary not in text  # shown once
        assert detail.json()["keys"]["primary"] == {"set": True, "hint": primary[-4:]}
        from studio.deployments.models import Deployment

        stored = Deployment.objects.get(name="credit")
        assert primary not in (stored.primary_key_hash, stored.secondary_key_hash)

        regenerated = studio.as_alice.post(f"/api/deployments/{body['id']}/keys/", {"which": "secondary"},
                                           format="json").json()["key"]
        server.wait_for(lambda: _predict(server, records, regenerated)[0] == 200, what="the new secondary key")
        assert _predict(server, records, primary)[0] == 200  # the primary never stopped working
        assert _predict(server, records, secondary)[0] == 401

        tried = studio.as_alice.post(f"/api/deployments/{body['id']}/try/", {"instances": records, "key": primary},
                                     format="json")
        assert tried.status_code == 200, tried.json()
        refused = studio.as_alice.post(f"/api/deployments/{body['id']}/try/", {"instances": records},
                                       format="json")
        assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "key"

        serving = studio.as_alice.get(f"/api/deployments/{body['id']}/serving/").json()
        assert serving["reachable"] and serving["live_version"] == "1"  # the studio's control token
        assert serving["metrics"]["1"]["requests"] >= 3
        assert "Authorization: Bearer $SERVING_KEY" in serving["curl"]


def test_canary_promote_and_rollback_under_load_fail_no_request(studio, settings):  # noqa: F811
    runs = [finished_run(studio, seed=seed) for seed in (1, 2)]
    records = _records(runs[0][1])
    with serving_process(studio.tmp, KEYS_ON) as server:
        settings.SERVING_URL = server.url
        body = studio.as_alice.post("/api/deployments/publish/", {"run": runs[0][0].pk, "name": "credit"},
                                    format="json").json()
        key = body["new_keys"]["primary"]
        server.wait_for(lambda: _predict(server, records, key)[0] == 200, what="v1 live")
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": runs[1][0].pk, "name": "credit",
                                                                   "canary": 10}, format="json")
        assert answer.status_code == 201 and answer.json()["traffic"] == {"1": 90, "2": 10}
        assert "new_keys" not in answer.json()
        assert answer.json()["history"][-1]["detail"] == "canary at 10%"

        def versions_of(ids):
            return {i: _predict(server, records, key, i)[1]["model_version"] for i in ids}

        server.wait_for(lambda: "2" in versions_of([f"id-{i}" for i in range(60)]).values(), what="canary")
        sticky = versions_of([f"id-{i}" for i in range(100)])
        assert sticky == versions_of([f"id-{i}" for i in range(100)])  # the same id, the same version
        assert 0 < list(sticky.values()).count("2") < 40

        failures, statuses, stop = [], [], threading.Event()

        def caller():
            while not stop.is_set():
                status, answer_body = _predict(server, records, key)
                statuses.append(status)
                if status != 200:
                    failures.append((status, answer_body))

        threads = [threading.Thread(target=caller) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            detail = f"/api/deployments/{body['id']}/"
            promoted = studio.as_alice.post(detail + "promote/", {"version": 2}, format="json")
            assert promoted.status_code == 200 and promoted.json()["traffic"] == {"2": 100}
            server.wait_for(lambda: set(versions_of(["a", "b", "c", "d"]).values()) == {"2"}, what="promoted")
            rolled = studio.as_alice.post(detail + "rollback/", {"version": 1}, format="json")
            assert rolled.status_code == 200 and rolled.json()["traffic"] == {"1": 100}
            server.wait_for(lambda: set(versions_of(["a", "b", "c", "d"]).values()) == {"1"}, what="rolled back")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert len(statuses) > 0 and failures == []
        print(f"{len(statuses)} requests during promote and rollback, 0 failed")
        actions = [(e["action"], e["version"]) for e in studio.as_alice.get(detail).json()["history"]]
        assert actions[-3:] == [("published", 2), ("promoted", 2), ("rolled_back", 1)]


def test_shadow_through_the_api_is_compared_on_the_page(studio, settings):  # noqa: F811
    runs = [finished_run(studio, seed=seed) for seed in (1, 2)]
    records = _records(runs[0][1], 3)
    with serving_process(studio.tmp, {**KEYS_ON}) as server:
        settings.SERVING_URL = server.url
        body = studio.as_alice.post("/api/deployments/publish/", {"run": runs[0][0].pk, "name": "credit"},
                                    format="json").json()
        key = body["new_keys"]["primary"]
        detail = f"/api/deployments/{body['id']}/"
        assert studio.as_alice.get(detail + "shadow-comparison/").json() == {"available": False, "reason": (
            "no shadow version is set: choose one (Shadow version), and the requests it sees are compared here")}
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": runs[1][0].pk, "name": "credit",
                                                                   "shadow": True}, format="json")
        assert answer.status_code == 201 and answer.json()["shadow_version"] == 2
        assert answer.json()["live_version"] == 1
        assert studio.as_alice.get(detail + "shadow-comparison/").json()["reason"] == (
            "no request was logged with shadow v2 in the last 7 days yet")
        server.wait_for(lambda: server.get("/v2/health/ready")[0] == 200)

        def compared():
            _predict(server, records, key)
            report = studio.as_alice.get(detail + "shadow-comparison/").json()
            return report["available"] and report["versions"]["2"]["rows"] >= 3

        server.wait_for(compared, timeout=20, what="shadow rows compared")
        report = studio.as_alice.get(detail + "shadow-comparison/").json()["versions"]["2"]
        assert 0 <= report["agreement"] <= 1 and report["live_versions"] == ["1"]
        assert sum(report["difference_histogram"]["counts"]) == report["rows"]
        # a canary of the live version is refused (it became a promote without a word), naming the version
        bad = studio.as_alice.post(detail + "canary/", {"version": 1, "percent": 10}, format="json")
        assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "version", bad.json()
        assert "v1 is the live version" in bad.json()["message"]
        # a canary of the shadow keeps it shadowing (v1 still answers most requests); promoting it ends its trial
        answer = studio.as_alice.post(detail + "canary/", {"version": 2, "percent": 10}, format="json")
        assert answer.status_code == 200 and answer.json()["shadow_version"] == 2, answer.json()
        promoted = studio.as_alice.post(detail + "promote/", {"version": 2}, format="json").json()
        assert promoted["live_version"] == 2 and promoted["shadow_version"] is None, promoted
        assert [e["detail"] for e in promoted["history"][-2:]] == ["v2 100%", "off: v2 answers every request"]
        from studio.deployments.services import registry_path

        assert "shadow" not in json.loads(registry_path().read_text())["models"]["credit"]
        again = studio.as_alice.post(detail + "shadow/", {"version": 1}, format="json")
        assert again.status_code == 200 and again.json()["shadow_version"] == 1
        off = studio.as_alice.post(detail + "shadow/", {"version": None}, format="json")
        assert off.status_code == 200 and off.json()["shadow_version"] is None


def test_settings_are_validated_and_reach_the_registry(studio):  # noqa: F811
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json").json()
    detail = f"/api/deployments/{body['id']}/"
    for bad, field in (({"log_share": 1.5}, "log_share"), ({"rate_limit_rps": -1}, "rate_limit_rps"),
                       ({"log_exclude": ["x" * 300]}, "log_exclude"), ({"description": "d" * 10_001}, "description")):
        answer = studio.as_alice.patch(detail, bad, format="json")
        assert answer.status_code == 400 and field in json.dumps(answer.json()), answer.json()
    answer = studio.as_alice.patch(detail, {"log_share": 0.1, "log_exclude": ["age"], "rate_limit_rps": 50,
                                            "rate_limit_burst": 50}, format="json")
    assert answer.status_code == 200, answer.json()
    from studio.deployments.services import registry_path

    entry = json.loads(registry_path().read_text())["models"]["credit"]
    assert entry["log"] == {"share": 0.1, "exclude": ["age"]}
    assert entry["rate_limit"] == {"rps": 50.0, "burst": 50}
    assert len(entry["keys"]) == 2 and body["new_keys"]["primary"] not in json.dumps(entry)
    bad = studio.as_alice.post(detail + "traffic/", {"weights": {"1": 60, "9": 40}}, format="json")
    assert bad.status_code == 404 and "no version 9" in bad.json()["message"]
    bad = studio.as_alice.post(detail + "traffic/", {"weights": {"1": 60}}, format="json")
    assert bad.status_code == 400 and "add up to 60" in bad.json()["message"]
    # a shadow of the one version answering every request would never be scored (nor compared): refused
    bad = studio.as_alice.post(detail + "shadow/", {"version": 1}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "version", bad.json()
    assert "v1 answers every request: a shadow is another version" in bad.json()["message"]
    # canary and promote name the field the caller sent, as rollback and shadow do (they said `weights`)
    for path, payload in (("canary/", {"version": 9, "percent": 10}), ("promote/", {"version": 9}),
                          ("rollback/", {"version": 9}), ("shadow/", {"version": 9})):
        bad = studio.as_alice.post(detail + path, payload, format="json")
        assert bad.status_code == 404 and bad.json()["errors"] == [
            {"path": "version", "message": "deployment 'credit' has no version 9", "code": "deployment"}], path


def test_another_account_cannot_manage_keys_versions_or_settings_of_a_deployment(studio):  # noqa: F811
    """bob (his own project B) and carol (a viewer of A) reach nothing of alice's deployment beyond reading."""
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json").json()
    detail = f"/api/deployments/{body['id']}/"
    writes = [("keys/", {"which": "primary"}), ("traffic/", {"weights": {"1": 100}}), ("promote/", {"version": 1}),
              ("canary/", {"version": 1, "percent": 10}), ("shadow/", {"version": 1})]
    from studio.deployments.models import Deployment

    before = Deployment.objects.get(pk=body["id"])
    for path, payload in writes:
        assert studio.as_bob.post(detail + path, payload, format="json").status_code == 404, path
        assert studio.as_carol.post(detail + path, payload, format="json").status_code == 403, path
    assert studio.as_bob.patch(detail, {"log_share": 0}, format="json").status_code == 404
    assert studio.as_carol.patch(detail, {"log_share": 0}, format="json").status_code == 403
    assert studio.as_bob.get(detail + "shadow-comparison/").status_code == 404
    after = Deployment.objects.get(pk=body["id"])
    assert (after.primary_key_hash, after.traffic, after.shadow_version, after.log_share) == (
        before.primary_key_hash, before.traffic, before.shadow_version, before.log_share)
    # carol may read the deployment, never its keys
    assert body["new_keys"]["primary"] not in json.dumps(studio.as_carol.get(detail).json())
