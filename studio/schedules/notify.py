"""Failure notifications of scheduled runs: a JSON POST to the project's webhook and e-mail to chosen members.

A webhook URL is user input that makes the server open a connection, so it is checked when saved and again
when used: http or https only, at most 2,000 characters, and every address its host resolves to must be a
public one (not loopback, link-local, private, multicast or reserved, and not the studio's own host names),
unless the admin's allow-list (STUDIO_WEBHOOK_ALLOW: host names, host:port pairs or CIDR networks) names it.
The connection goes to the address that was checked (no second DNS answer), redirects are not followed, and
the whole delivery has a timeout. A delivery that fails is logged; it never raises into the scheduler.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2000


class WebhookRefused(ValueError):
    """A webhook URL the studio will not call; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP the connection goes to


def _allowed(host: str, port: int, address: str) -> bool:
    for entry in settings.WEBHOOK_ALLOW:
        if entry in (host, f"{host}:{port}"):
            return True
        try:
            if ipaddress.ip_address(address) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _studio_hosts() -> set[str]:
    names = {h.lower().lstrip(".") for h in settings.ALLOWED_HOSTS if h and h != "*"}
    names.add((urlsplit(settings.SERVING_URL).hostname or "").lower())
    names.add(socket.gethostname().lower())
    return names - {""}


def check_url(url: str) -> Target:
    """The URL's parts and the address to connect to; WebhookRefused when the studio will not call it."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise WebhookRefused(f"give a URL of at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("use an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise WebhookRefused("put no user name or password in the URL")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except ValueError:
        raise WebhookRefused("the port is not a number from 1 to 65535") from None
    except OSError:
        raise WebhookRefused(f"the host {host!r} does not resolve") from None
    addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        if _allowed(host, port, address):
            continue
        ip = ipaddress.ip_address(address)
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast or host in _studio_hosts():
            raise WebhookRefused(f"the host {host!r} is an internal address ({address}); an administrator can "
                                 "allow it with STUDIO_WEBHOOK_ALLOW")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate checked against the URL's host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, body: dict) -> int:
    """POST `body` to a checked URL; the response status. Raises WebhookRefused or OSError."""
    target = check_url(url)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    if target.scheme == "https":
        conn = _PinnedHTTPS(target.address, target.host, target.port, timeout)
    else:
        conn = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    payload = json.dumps(body).encode()
    try:
        default_port = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        conn.request("POST", target.path, payload, {"Host": host,
                                                    "Content-Type": "application/json",
                                                    "User-Agent": "studio-scheduler"})
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def failure_body(fire) -> dict:
    """What a failure notification says: the schedule, its pipeline, the run, its status, the failed node."""
    schedule, run = fire.schedule, fire.run
    failed = run.nodes.filter(status="failed").first() if run is not None else None
    error = (failed.error or {}).get("message", "") if failed is not None else ""
    return {"event": "scheduled_run_failed",
            "project": {"id": schedule.project_id, "name": schedule.project.name},
            "schedule": {"id": schedule.pk, "name": schedule.name, "cron": schedule.cron,
                         "timezone": schedule.timezone},
            "pipeline": {"id": schedule.pipeline_id, "name": schedule.pipeline.name},
            "run": run.pk if run is not None else None,
            "status": run.status if run is not None else "error",
            "fire_time": fire.fire_time.isoformat().replace("+00:00", "Z"),
            "attempts": fire.attempt + 1,
            "failed_node": failed.node if failed is not None else None,
            "error": error or (run.error if run is not None else fire.message)}


def deliver_failure(fire) -> None:
    """Announce a fire whose last attempt failed: webhook and e-mail, each on its own; failures are logged."""
    body = failure_body(fire)
    from .models import ProjectWebhook

    webhook = ProjectWebhook.objects.filter(project_id=fire.schedule.project_id).first()
    if webhook is not None:
        try:
            status = post_json(webhook.url, body)
            if not 200 <= status < 300:
                log.warning("webhook of project %s answered %s for fire %s", webhook.project_id, status, fire.pk)
        except (WebhookRefused, OSError, http.client.HTTPException) as exc:
            log.warning("webhook of project %s failed for fire %s: %s", webhook.project_id, fire.pk, exc)
    emails = [u.email for u in fire.schedule.notify.all() if u.email]
    if emails:
        subject = f"[studio] {body['schedule']['name']}: run {body['run']} {body['status']}"
        text = "\n".join(f"{k}: {json.dumps(v) if isinstance(v, dict) else v}" for k, v in body.items())
        try:
            send_mail(subject[:200], text, settings.DEFAULT_FROM_EMAIL, emails)
        except Exception as exc:  # any mail backend's error: logged, never raised into the scheduler
            log.warning("e-mail for fire %s failed: %s", fire.pk, exc)
