"""Endpoint keys, traffic split, shadow versions, per-key rate limits and logging controls of the serving
process (issue 22), in process on the real bundles, plus the 60 MB wrong-key body on a real uvicorn."""
from __future__ import annotations

import asyncio
import json
import re
import select
import shutil
import socket
import uuid

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from pipelines.bundle import load_bundle, read_registry, table_to_columns, write_registry
from studio.serving.app import create_app
from studio.serving.auth import hash_key, new_key
from studio.serving.ratelimit import LocalBuckets, RedisBuckets
from studio.serving.repository import Repository

from .conftest import serving_process, v2_json

KEY_A, KEY_A2, KEY_B, CONTROL = new_key(), new_key(), new_key(), new_key()


@pytest.fixture(scope="module")
def two_deployments(tmp_path_factory, bundles):
    """credit (versions 1 and 2) and other (version 1): each its own copy of the bundle folders."""
    root = tmp_path_factory.mktemp("access")
    copies = {}
    for name in ("credit", "other"):
        for version, path in bundles.items():
            copies[(name, version)] = shutil.copytree(path, root / f"{name}-{version}")
    return copies


def registry(path, copies, credit: dict | None = None, other: dict | None = None):
    models = {
        "credit": {"live": "1", "versions": {v: {"bundle": str(copies[("credit", v)])} for v in ("1", "2")},
                   "keys": [hash_key(KEY_A), hash_key(KEY_A2)], **(credit or {})},
        "other": {"live": "1", "versions": {"1": {"bundle": str(copies[("other", "1")])}},
                  "keys": [hash_key(KEY_B)], **(other or {})},
    }
    write_registry(path, models, control=[hash_key(CONTROL)])


def make_app(tmp_path, copies, loader=load_bundle, credit=None, other=None, **options):
    path = tmp_path / "registry.json"
    registry(path, copies, credit, other)
    repository = Repository(path, loader=loader, read_registry=read_registry, poll_interval=3600)
    return create_app(repository=repository, **options)


@pytest.fixture(scope="module")
def request_body(bundles, scoring_table):
    spec = load_bundle(bundles["1"]).input_spec
    return json.dumps(v2_json(table_to_columns(scoring_table.head(1), spec), spec)).encode()


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


# ------------------------------------------------------------------------------------------------------ keys
def test_no_key_or_a_wrong_key_is_401_and_the_body_is_never_read(tmp_path, two_deployments, request_body):
    app = make_app(tmp_path, two_deployments)
    with TestClient(app) as client:
        for headers in ({}, bearer("sk_wrong"), {"Authorization": "Basic abc"}, {"api-key": "sk_wrong"}):
            answer = client.post("/v2/models/credit/infer", content=request_body, headers=headers)
            assert answer.status_code == 401, answer.text
            assert "key" in answer.json()["error"]
        assert app.state.server.body_reads == 0  # refused from the headers alone
        for path in ("/v2/models/credit", "/v2/models/credit/ready", "/v2/repository/index", "/metrics"):
            assert client.get(path).status_code == 401, path
        # health, readiness and the server's own metadata stay open
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200
        assert client.get("/v2").json()["name"] == "studio-serving"
        for key in (KEY_A, KEY_A2):  # the primary and the secondary both work
            answer = client.post("/v2/models/credit/infer", content=request_body, headers=bearer(key))
            assert answer.status_code == 200, answer.text
        answer = client.post("/v2/models/credit/infer", content=request_body, headers={"api-key": KEY_A})
        assert answer.status_code == 200


def test_a_regenerated_secondary_key_works_while_the_primary_still_works(tmp_path, two_deployments, request_body):
    app = make_app(tmp_path, two_deployments)
    with TestClient(app) as client:
        regenerated = new_key()
        registry(tmp_path / "registry.json", two_deployments,
                 credit={"keys": [hash_key(KEY_A), hash_key(regenerated)]})
        app.state.repository.refresh(force=True)
        for key, expected in ((KEY_A, 200), (regenerated, 200), (KEY_A2, 401)):
            answer = client.post("/v2/models/credit/infer", content=request_body, headers=bearer(key))
            assert answer.status_code == expected, (key, answer.text)


def test_a_key_for_deployment_a_cannot_call_list_or_read_metrics_of_b(tmp_path, two_deployments, request_body):
    app = make_app(tmp_path, two_deployments)
    with TestClient(app) as client:
        assert client.post("/v2/models/other/infer", content=request_body, headers=bearer(KEY_B)).status_code == 200
        assert client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A)).status_code == 200
        answer = client.post("/v2/models/other/infer", content=request_body, headers=bearer(KEY_A))
        assert answer.status_code == 404 and "for this key" in answer.json()["error"]
        assert "served models" not in answer.json()["error"]  # the key learns nothing of the others
        for path in ("/v2/models/other", "/v2/models/other/ready", "/v2/models/other/versions/1"):
            assert client.get(path, headers=bearer(KEY_A)).status_code == 404, path
        unknown = client.post("/v2/models/nope/infer", content=request_body, headers=bearer(KEY_A)).json()
        assert "other" not in unknown["error"] and "credit" not in unknown["error"]
        index = client.get("/v2/repository/index", headers=bearer(KEY_A)).json()
        assert {row["name"] for row in index} == {"credit"}
        metrics = client.get("/metrics", headers=bearer(KEY_A)).text
        assert 'model="credit"' in metrics and 'model="other"' not in metrics
        samples = [line for line in metrics.splitlines() if not line.startswith("#")]
        assert samples and not any(line.startswith("serving_batched_requests") for line in samples)
        # the studio's control token reads everything, scores nothing
        everything = client.get("/metrics", headers=bearer(CONTROL)).text
        assert 'model="credit"' in everything and 'model="other"' in everything
        assert {r["name"] for r in client.get("/v2/repository/index", headers=bearer(CONTROL)).json()} == {
            "credit", "other"}
        assert client.post("/v2/models/credit/infer", content=request_body,
                           headers=bearer(CONTROL)).status_code == 403


# Every route of the serving process, and what a key of deployment "credit" gets on deployment "other" there.
OTHERS = {"/v2/models/{name}/infer": ("post", "/v2/models/other/infer", 404),
          "/v2/models/{name}/versions/{version}/infer": ("post", "/v2/models/other/versions/1/infer", 404),
          "/v1/models/{name}:predict": ("post", "/v1/models/other:predict", 404),
          "/v2/models/{name}": ("get", "/v2/models/other", 404),
          "/v2/models/{name}/ready": ("get", "/v2/models/other/ready", 404),
          "/v2/models/{name}/versions/{version}": ("get", "/v2/models/other/versions/1", 404),
          "/v2/models/{name}/versions/{version}/ready": ("get", "/v2/models/other/versions/1/ready", 404),
          "/v2/repository/index": ("get", "/v2/repository/index", 200),  # lists credit only (above)
          "/metrics": ("get", "/metrics", 200),  # credit's samples only (above)
          "/v2/health/live": ("get", "/v2/health/live", 200), "/v2/health/ready": ("get", "/v2/health/ready", 200),
          "/v2": ("get", "/v2", 200)}  # open: the server's name and extensions, no deployment


def test_every_serving_route_holds_a_key_to_its_own_deployment(tmp_path, two_deployments, request_body):
    """The census of the serving process's routes: each is in OTHERS, and a key of one deployment reaches no
    other deployment through it."""
    app = make_app(tmp_path, two_deployments)
    assert sorted(route.path for route in app.routes) == sorted(OTHERS)
    with TestClient(app) as client:
        for route, (method, path, status) in OTHERS.items():
            body = {"content": request_body} if method == "post" else {}
            answer = getattr(client, method)(path, headers=bearer(KEY_A), **body)
            assert answer.status_code == status, (route, answer.status_code, answer.text[:200])
            assert status == 404 or not re.search(r"\bmodel=\"other\"|\"name\": ?\"other\"", answer.text), route


def test_keys_off_only_by_explicit_setting(monkeypatch):
    from studio.serving.app import require_keys_from_environment

    monkeypatch.delenv("SERVING_REQUIRE_KEYS", raising=False)
    assert require_keys_from_environment() is True
    for value in ("0", "false", "off"):
        monkeypatch.setenv("SERVING_REQUIRE_KEYS", value)
        assert require_keys_from_environment() is False
    monkeypatch.setenv("SERVING_REQUIRE_KEYS", "1")
    assert require_keys_from_environment() is True


def test_a_60_mb_body_with_a_wrong_key_is_answered_before_the_client_finished_sending(tmp_path, two_deployments):
    """On a real uvicorn: the 401 arrives while most of the body is still unsent (events, not timing)."""
    with serving_process(tmp_path, {"SERVING_REQUIRE_KEYS": "1"}) as server:
        registry(server.registry, two_deployments)
        server.wait_for(lambda: server.get("/v2/repository/index")[0] == 401, what="registry loaded")
        total = 60 * 1024 * 1024
        head = (f"POST /v2/models/credit/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer sk_wrong\r\nContent-Length: {total}\r\n\r\n").encode()
        chunk = b" " * 65536
        sent, answer = 0, b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(head)
            sock.setblocking(False)
            while sent < total:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable:
                    answer = sock.recv(65536)
                    break
                if writable:
                    try:
                        sent += sock.send(chunk[:total - sent])
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        continue
            sent_when_answered = sent
            sock.setblocking(True)
            while b"}" not in answer:  # the rest of the answer (or all of it, had every byte been sent first)
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"key" in answer
        assert sent_when_answered < total // 2, f"answered only after {sent_when_answered} of {total} bytes"


# ------------------------------------------------------------------------------------------------ traffic
def test_split_90_10_over_20000_requests_and_sticky_request_ids(tmp_path, two_deployments):
    app = make_app(tmp_path, two_deployments, credit={"traffic": {"1": 90, "2": 10}})
    with TestClient(app):
        model = app.state.repository.models["credit"]
        picks = [model.route(None).version for _ in range(20_000)]
        share = picks.count("2") / len(picks)
        assert abs(share - 0.10) < 0.015, share
        ids = [f"req-{i}" for i in range(2_000)]
        first = {i: model.route(i).version for i in ids}
        assert all(model.route(i).version == first[i] for i in ids for _ in range(3))
        assert abs(list(first.values()).count("2") / len(ids) - 0.10) < 0.03


def test_split_90_10_over_20000_requests_through_the_app(tmp_path, two_deployments, request_body):
    """20,000 scored requests through the ASGI app (in process): the share each version answered, read from the
    answers' model-version header and from the per-version counters of /metrics."""
    import httpx

    app = make_app(tmp_path, two_deployments, credit={"traffic": {"1": 90, "2": 10}})

    async def run():
        versions = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async def one():
                answer = await client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A))
                assert answer.status_code == 200
                versions.append(answer.headers["model-version"])

            for _ in range(200):
                await asyncio.gather(*(one() for _ in range(100)))
        return versions

    with TestClient(app):
        versions = asyncio.run(run())
    assert len(versions) == 20_000
    assert abs(versions.count("2") / 20_000 - 0.10) < 0.015, versions.count("2")
    counted = {v: app.state.metrics.registry.get_sample_value(
        "serving_requests_total", {"model": "credit", "version": v, "protocol": "v2", "code": "200"}) for v in "12"}
    assert counted == {"1": versions.count("1"), "2": versions.count("2")}


def test_each_response_names_the_version_and_sticky_ids_hold_over_http(tmp_path, two_deployments, request_body):
    app = make_app(tmp_path, two_deployments, credit={"traffic": {"1": 50, "2": 50}})
    with TestClient(app) as client:
        seen = {}
        for i in range(60):
            for _ in range(2):
                answer = client.post("/v2/models/credit/infer", content=request_body,
                                     headers={**bearer(KEY_A), "X-Request-Id": f"r{i}"})
                assert answer.status_code == 200
                version = answer.json()["model_version"]
                assert answer.headers["model-version"] == version
                assert seen.setdefault(i, version) == version
        assert set(seen.values()) == {"1", "2"}
        metrics = client.get("/metrics", headers=bearer(KEY_A)).text
        for version in ("1", "2"):  # per-version requests, latency and score distribution
            assert f'serving_requests_total{{code="200",model="credit",protocol="v2",version="{version}"}}' in metrics
            assert any(line.startswith("serving_scores_total{") and f'version="{version}"' in line
                       for line in metrics.splitlines())


def test_promote_and_rollback_under_load_fail_no_request(tmp_path, two_deployments, request_body):
    """Concurrent requests while the split moves 100/0 -> 90/10 -> 0/100 -> back: every answer is 200."""
    import httpx

    app = make_app(tmp_path, two_deployments)
    path = tmp_path / "registry.json"
    steps = [{"traffic": {"1": 90, "2": 10}}, {"live": "2", "traffic": {"2": 100}},
             {"live": "1", "traffic": {"1": 100}}, {"traffic": {"1": 50, "2": 50}}]

    async def run():
        statuses, versions = [], set()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            async def caller():
                for _ in range(60):
                    answer = await client.post("/v2/models/credit/infer", content=request_body,
                                               headers=bearer(KEY_A))
                    statuses.append(answer.status_code)
                    versions.add(answer.headers.get("model-version"))

            async def switcher():
                for step in steps:
                    await asyncio.sleep(0)
                    registry(path, two_deployments, credit=step)
                    app.state.repository.refresh(force=True)
                    while len(statuses) < 40 * (steps.index(step) + 1):
                        await asyncio.sleep(0.001)

            await asyncio.gather(*(caller() for _ in range(4)), switcher())
        return statuses, versions

    with TestClient(app):
        statuses, versions = asyncio.run(run())
    assert statuses.count(200) == len(statuses) == 240
    assert versions == {"1", "2"}


# ------------------------------------------------------------------------------------------------- shadow
class Raising:
    def __init__(self, bundle):
        self.input_spec, self.output_spec = bundle.input_spec, bundle.output_spec
        self.contribution_names = bundle.contribution_names

    def predict(self, columns, n_rows, *, explain=False):
        raise RuntimeError("the shadow tripped")


def _rows(log_dir, shadow: bool | None = None):
    rows = []
    for file in sorted(log_dir.rglob("*.parquet")):
        rows.extend(pq.read_table(file).to_pylist())
    return rows if shadow is None else [r for r in rows if r["shadow"] == shadow]


def test_a_shadow_that_raises_never_changes_a_live_answer(tmp_path, two_deployments, request_body):
    def loader(path):
        return Raising(load_bundle(path)) if path.name == "credit-2" else load_bundle(path)

    (tmp_path / "plain").mkdir()
    plain = make_app(tmp_path / "plain", two_deployments, require_keys=False)
    shadowed = make_app(tmp_path, two_deployments, loader=loader, credit={"shadow": "2"})
    with TestClient(plain) as client:
        expected = client.post("/v2/models/credit/infer", content=request_body).json()
    with TestClient(shadowed) as client:
        for _ in range(20):
            answer = client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A))
            assert answer.status_code == 200
            assert answer.json()["outputs"] == expected["outputs"]
        client.portal.call(shadowed.state.server.followers.drain)
        errors = shadowed.state.metrics.registry.get_sample_value(
            "serving_shadow_requests_total", {"model": "credit", "version": "2", "outcome": "error"})
        assert errors == 20


def test_shadow_rows_are_in_the_log_with_their_mark(tmp_path, two_deployments, request_body):
    log_dir = tmp_path / "log"
    app = make_app(tmp_path, two_deployments, credit={"shadow": "2"}, prediction_log_dir=log_dir,
                   log_flush_interval=0.05)
    with TestClient(app) as client:
        for i in range(10):
            answer = client.post("/v2/models/credit/infer", content=request_body,
                                 headers={**bearer(KEY_A), "X-Request-Id": f"s{i}"})
            assert answer.status_code == 200
    live, shadow = _rows(log_dir, False), _rows(log_dir, True)
    assert len(live) == 10 and {r["version"] for r in live} == {"1"}
    assert len(shadow) == 10 and {r["version"] for r in shadow} == {"2"}
    assert {r["request_id"] for r in live} == {r["request_id"] for r in shadow}
    assert all("_shadow" in str(f) for f in log_dir.rglob("*.parquet") if pq.read_table(f)["shadow"][0].as_py())
    # the live log's readers see no shadow row
    from operators.prediction_log import read_log

    assert set(read_log(log_dir, "credit").column("version").to_pylist()) == {"1"}


# -------------------------------------------------------------------------------------------- rate limits
def _burst(tmp_path, copies, request_body, buckets, n=200):
    app = make_app(tmp_path, copies, credit={"rate_limit": {"rps": 50, "burst": 50}}, buckets=buckets)
    with TestClient(app) as client:
        answers = [client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A))
                   for _ in range(n)]
        other = client.post("/v2/models/other/infer", content=request_body, headers=bearer(KEY_B))
    return answers, other


@pytest.mark.parametrize("where", ["process", "redis"])
def test_a_burst_of_200_over_a_limit_of_50_per_second_answers_the_excess_429(tmp_path, two_deployments,
                                                                              request_body, where):
    now = [1000.0]
    if where == "process":
        buckets = LocalBuckets(clock=lambda: now[0])
    else:
        buckets = RedisBuckets("redis://127.0.0.1:6379/0", clock=lambda: now[0],
                               prefix=f"test:{uuid.uuid4().hex}:")
    answers, other = _burst(tmp_path, two_deployments, request_body, buckets)
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 50 and codes.count(429) == 150
    assert codes[:50] == [200] * 50
    refused = answers[-1]
    assert refused.headers["Retry-After"] == "1"
    assert "rate limit" in refused.json()["error"] and set(refused.json()) == {"error"}
    assert other.status_code == 200  # another deployment's key has its own bucket


def test_replicas_sharing_redis_share_one_key_limit(tmp_path, two_deployments, request_body):
    now, prefix = [5000.0], f"test:{uuid.uuid4().hex}:"
    codes = []
    for replica in ("r1", "r2"):
        (tmp_path / replica).mkdir()
        buckets = RedisBuckets("redis://127.0.0.1:6379/0", clock=lambda: now[0], prefix=prefix)
        answers, _ = _burst(tmp_path / replica, two_deployments, request_body, buckets, n=40)
        codes += [a.status_code for a in answers]
    assert codes.count(200) == 50 and codes.count(429) == 30


# ---------------------------------------------------------------------------------------- logging controls
def test_logging_share_and_left_out_columns(tmp_path, two_deployments, request_body, bundles):
    spec = load_bundle(bundles["1"]).input_spec
    left_out = spec[0]["name"]
    log_dir = tmp_path / "log"
    app = make_app(tmp_path, two_deployments, credit={"log": {"share": 0.1, "exclude": [left_out]},
                                                       "shadow": "2"},
                   prediction_log_dir=log_dir, log_flush_interval=0.05)
    n = 2000
    with TestClient(app) as client:
        for i in range(n):
            answer = client.post("/v2/models/credit/infer", content=request_body,
                                 headers={**bearer(KEY_A), "X-Request-Id": f"log-{i}"})
            assert answer.status_code == 200
        client.portal.call(app.state.server.followers.drain)
    live = _rows(log_dir, False)
    # binomial(2000, 0.1): mean 200, sd 13.4; 5 sd either side
    assert 133 <= len(live) <= 267, len(live)
    assert len(_rows(log_dir, True)) == len(live)  # the same requests, sampled by their id
    for file in log_dir.rglob("*.parquet"):
        assert f"in_{left_out}" not in pq.read_table(file).column_names, file
        assert f"in_{spec[1]['name']}" in pq.read_table(file).column_names


def test_a_rate_limit_store_that_is_down_lets_keyed_requests_through(tmp_path, two_deployments, request_body):
    buckets = RedisBuckets("redis://127.0.0.1:1/0", prefix=f"test:{uuid.uuid4().hex}:")  # nothing listens there
    app = make_app(tmp_path, two_deployments, credit={"rate_limit": {"rps": 1, "burst": 1}}, buckets=buckets)
    with TestClient(app) as client:
        answers = [client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A))
                   for _ in range(3)]
        assert client.post("/v2/models/credit/infer", content=request_body).status_code == 401  # keys still hold
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert app.state.server.gate.unavailable == 3


def test_the_prediction_logs_written_and_dropped_rows_are_counted_for_the_control_token_only(
        tmp_path, two_deployments, request_body):
    """serving_prediction_log_rows_total: rows written, and rows dropped when the writer is behind (here: a
    limit of 0 pending rows); process-wide, so a deployment's key does not see it, the control token does."""
    app = make_app(tmp_path, two_deployments, prediction_log_dir=tmp_path / "log", log_flush_interval=3600)

    def sample(outcome):
        return app.state.metrics.registry.get_sample_value("serving_prediction_log_rows_total",
                                                           {"outcome": outcome}) or 0.0

    with TestClient(app) as client:
        assert client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A)).status_code == 200
        app.state.server.prediction_log.flush()
        assert sample("written") == 1 and sample("dropped") == 0
        app.state.server.prediction_log.max_pending_rows = 0  # the writer "behind": the next rows are dropped
        assert client.post("/v2/models/credit/infer", content=request_body, headers=bearer(KEY_A)).status_code == 200
        assert sample("dropped") == 1
        for key in (KEY_A, KEY_B):  # (the HELP and TYPE lines stay: they name no deployment)
            text = client.get("/metrics", headers=bearer(key)).text
            assert not any(line.startswith("serving_prediction_log_rows") for line in text.splitlines())
        everything = client.get("/metrics", headers=bearer(CONTROL)).text
        assert 'serving_prediction_log_rows_total{outcome="dropped"} 1.0' in everything
