"""A 500 MB CSV uploaded to a real uvicorn web process streams to disk: the process's peak RSS grows by less than
100 MB, the stored file is the sent one (size and sha256), and the preview comes from its first rows."""
from __future__ import annotations

import hashlib
import json

import pytest

from benchmarks.upload_stream import peak_rss_kib, post_file, write_csv
from tests.studio.live import LiveStudio

# The body's path to disk is the web process's alone: SQLite and the embedded queue, and once per `make test`.
pytestmark = [pytest.mark.slow, pytest.mark.backend_independent]


def test_a_500_mb_upload_streams_with_flat_memory(tmp_path):
    big = tmp_path / "big.csv"
    size = write_csv(big, 500)
    digest = hashlib.sha256()
    with open(big, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    studio = LiveStudio(tmp_path, embedded=True)
    try:
        project = studio.get("/api/projects/")["results"][0]["id"]
        small = tmp_path / "small.csv"
        small.write_text(",a,churn\n0,1,yes\n1,2,no\n")
        assert post_file(studio.port, studio.token, project, small)[0] == 201  # pandas & co. loaded first
        before = peak_rss_kib(studio.web.pid)
        status, body, seconds = post_file(studio.port, studio.token, project, big)
        after = peak_rss_kib(studio.web.pid)
        assert status == 201, body[:2000]
        upload = json.loads(body)
        print(f"\n{size / 1e6:,.0f} MB in {seconds:.1f} s: {size / 1e6 / seconds:,.1f} MB/s; "
              f"peak RSS +{(after - before) / 1024:,.1f} MiB")
        assert (after - before) * 1024 < 100 * 1_000_000, f"peak RSS grew {(after - before) / 1024:,.0f} MiB"
        assert upload["size"] == size and upload["sha256"] == digest.hexdigest()
        stored = tmp_path / "var" / "data" / "projects" / str(project) / upload["path"]
        assert stored.stat().st_size == size
        assert [c["name"] for c in upload["preview"]["columns"]] == ["Unnamed: 0", "amount", "score", "churn"]
        assert upload["preview"]["sampled_rows"] == 10_000 and upload["preview"]["rows"][1][3] == "yes"
        assert not list((tmp_path / "var" / "data" / "staging").iterdir())
    finally:
        studio.close()
