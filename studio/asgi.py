"""ASGI entry point (daphne): Django for HTTP, Channels for the run event WebSockets."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()  # sets Django up before the consumers are imported

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from studio.core.limits import BodyLimit  # noqa: E402
from studio.core.ws import TokenOrSessionAuth  # noqa: E402
from studio.runs.consumers import RunEventsConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "http": BodyLimit(django_application),  # refuses an oversized body before Django reads it
    "websocket": TokenOrSessionAuth(URLRouter([
        path("ws/runs/<int:run_id>/", RunEventsConsumer.as_asgi()),
    ])),
})
