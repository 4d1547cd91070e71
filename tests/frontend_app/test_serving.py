"""Django serves the built canvas: index.html on every app path, hashed assets gzipped and cached for good."""
from __future__ import annotations

import gzip

import pytest


@pytest.fixture
def dist(tmp_path, settings):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><script type="module" src="/assets/index-abc.js"></script>')
    (root / "assets" / "index-abc.js").write_text("console.log('canvas');" * 50)
    settings.FRONTEND_DIST = root
    return root


def test_index_on_root_and_app_paths_sets_csrf_cookie(client, dist):
    for path in ("/", "/projects/3/pipelines/7", "/login"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"/assets/index-abc.js" in response.content
        assert response["Content-Type"].startswith("text/html")
        assert "csrftoken" in response.cookies


def test_api_and_admin_are_not_swallowed_by_the_app(client, dist):
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.get("/api/no-such-endpoint").status_code == 404
    assert client.get("/admin/login/").status_code == 200


def test_assets_gzipped_and_immutable(client, dist):
    response = client.get("/assets/index-abc.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert gzip.decompress(response.content) == (dist / "assets" / "index-abc.js").read_bytes()
    plain = client.get("/assets/index-abc.js")
    assert b"".join(plain.streaming_content) == (dist / "assets" / "index-abc.js").read_bytes()


def test_missing_asset_and_path_escape_are_404(client, dist):
    (dist / "secret.txt").write_text("no")
    assert client.get("/assets/nope.js").status_code == 404
    assert client.get("/assets/../secret.txt").status_code == 404
    assert client.get("/assets/%2e%2e/secret.txt").status_code == 404


def test_unbuilt_app_says_how_to_build_it(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "nothing"
    response = client.get("/")
    assert response.status_code == 503
    assert b"make run" in response.content
