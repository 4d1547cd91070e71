"""The canvas is a single-page app: every path that is not the API, the admin or an asset gets index.html,
and the browser's router picks the screen. Assets have hashed names, so they are cached for good."""
from __future__ import annotations

import gzip
import mimetypes
import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe



def dist() -> Path:
    """Where `npm run build` wrote the app; settings.FRONTEND_DIST or $STUDIO_FRONTEND_DIST may point elsewhere."""
    default = os.environ.get("STUDIO_FRONTEND_DIST", Path(settings.BASE_DIR) / "frontend" / "dist")
    return Path(getattr(settings, "FRONTEND_DIST", default)).resolve()

COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".html", ".map")


@require_safe
@ensure_csrf_cookie  # the app sends the csrftoken cookie back in X-CSRFToken on every unsafe request
def index(request, path: str = ""):
    page = dist() / "index.html"
    if not page.is_file():
        return HttpResponse(
            "The canvas is not built. `make run` builds it; or run `npm ci && npm run build` in frontend/.",
            status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(page.read_bytes(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@lru_cache(maxsize=64)
def _gzipped(path: Path, mtime: float) -> bytes:  # mtime is part of the key: a rebuilt file is compressed again
    return gzip.compress(path.read_bytes(), compresslevel=6)


@require_safe
def asset(request, path: str):
    root = dist() / "assets"
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("no such asset")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix in COMPRESSIBLE and "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(_gzipped(target, target.stat().st_mtime), content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = FileResponse(target.open("rb"), content_type=content_type)
    patch_vary_headers(response, ["Accept-Encoding"])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
