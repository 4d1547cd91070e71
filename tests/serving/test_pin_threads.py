"""SERVING_PIN_THREADS (issue 19, opt-in): the event loop's thread on one CPU and the prediction log's writer on
another, so that the two stop taking turns on one core; off by default. Checked on the threads themselves."""
from __future__ import annotations

import os
import threading

import pytest
from starlette.testclient import TestClient

from pipelines.bundle import load_bundle, read_registry, write_registry
from studio.serving.app import create_app, pin_threads_from_environment
from studio.serving.repository import Repository

from .conftest import registry_models


def make_app(tmp_path, bundles, **options):
    path = tmp_path / "registry.json"
    write_registry(path, registry_models(bundles, "1"))
    repository = Repository(path, loader=load_bundle, read_registry=read_registry, poll_interval=3600)
    return create_app(repository=repository, require_keys=False, prediction_log_dir=tmp_path / "log", **options)


def test_the_loop_and_the_log_writer_run_on_the_cpus_named(tmp_path, bundles):
    cpus = sorted(os.sched_getaffinity(0))
    loop_cpu, writer_cpu = cpus[0], cpus[-1]  # (one CPU: both on it)
    app = make_app(tmp_path, bundles, pin_threads=(loop_cpu, writer_cpu))
    seen = {}

    async def where(request):  # (a route on the app's loop: its thread's CPUs)
        from starlette.responses import JSONResponse

        seen["loop"] = os.sched_getaffinity(threading.get_native_id())
        return JSONResponse({})

    app.add_route("/where", where)
    with TestClient(app) as client:
        assert client.get("/where").status_code == 200
        writer = app.state.server.prediction_log.native_thread_id
        assert os.sched_getaffinity(writer) == {writer_cpu}
        assert app.state.pinned == {"loop": loop_cpu, "writer": writer_cpu}
    assert seen["loop"] == {loop_cpu}
    assert os.sched_getaffinity(threading.get_native_id()) == set(cpus)  # (the test's own thread untouched)


def test_nothing_is_pinned_by_default_and_a_cpu_out_of_reach_is_left_out(tmp_path, bundles, monkeypatch):
    monkeypatch.delenv("SERVING_PIN_THREADS", raising=False)
    assert pin_threads_from_environment() is None
    app = make_app(tmp_path, bundles)
    with TestClient(app):
        writer = app.state.server.prediction_log.native_thread_id
        assert os.sched_getaffinity(writer) == os.sched_getaffinity(0)
        assert not hasattr(app.state, "pinned")
    app = make_app(tmp_path / "two", bundles, pin_threads=(sorted(os.sched_getaffinity(0))[0], 10_000))
    with TestClient(app):
        assert app.state.pinned == {"loop": sorted(os.sched_getaffinity(0))[0]}  # the writer's CPU does not exist


@pytest.mark.parametrize("value, expected", [("0,1", (0, 1)), (" 1,0 ", (1, 0)), ("", None)])
def test_the_setting_reads_two_cpus(monkeypatch, value, expected):
    monkeypatch.setenv("SERVING_PIN_THREADS", value)
    assert pin_threads_from_environment() == expected


def test_a_malformed_setting_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("SERVING_PIN_THREADS", "0")
    with pytest.raises(ValueError, match="SERVING_PIN_THREADS='0': expected two CPU numbers"):
        pin_threads_from_environment()
