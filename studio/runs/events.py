"""The one way run events are written: numbered, stored in order, and mirrored into NodeRun / Run rows in the
same transaction; then announced to WebSocket consumers over channels-redis when Redis is configured (without
Redis the consumers tail the RunEvent table, so the database is the cross-process path either way)."""
from __future__ import annotations

import logging
from datetime import datetime, UTC

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .models import FINISHED, NodeRun, Run, RunEvent, RunStatus

log = logging.getLogger(__name__)

NODE_STATUS = {"node_queued": "queued", "node_running": "running", "node_succeeded": "succeeded",
               "node_cached": "cached", "node_failed": "failed", "node_skipped": "skipped",
               "node_cancelled": "cancelled"}


def group_name(run_id: int) -> str:
    return f"run-{run_id}"


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def append(run_id: int, events: list[dict]) -> list[RunEvent]:
    """Store events ({"type", "node", "data", "time"}) for one run, in order, and apply them to its rows."""
    if not events:
        return []
    with transaction.atomic():
        Run.objects.filter(pk=run_id).update(last_seq=F("last_seq") + len(events))  # locks the run row
        last = Run.objects.values_list("last_seq", flat=True).get(pk=run_id)
        first = last - len(events) + 1
        rows = [RunEvent(run_id=run_id, seq=first + i, type=e["type"], node=e.get("node") or "",
                         data=e.get("data") or {}, time=e["time"]) for i, e in enumerate(events)]
        RunEvent.objects.bulk_create(rows)
        for event in events:
            _apply(run_id, event)
        transaction.on_commit(lambda: notify(run_id, last))
    return rows


def _apply(run_id: int, event: dict) -> None:
    kind, node, data = event["type"], event.get("node"), event.get("data") or {}
    when = _when(event["time"])
    if kind == "run_started":
        NodeRun.objects.filter(run_id=run_id).delete()  # a re-queued run starts its node list again
        operators_of = event.get("operators", {})
        NodeRun.objects.bulk_create([NodeRun(run_id=run_id, node=n, operator=operators_of.get(n, ""))
                                     for n in data.get("nodes", [])])
        return
    if kind == "run_finished":
        status = data.get("status", RunStatus.FAILED)
        Run.objects.filter(pk=run_id).exclude(status__in=FINISHED).update(
            status=status, finished_at=when, error=data.get("reason", "") or _failed_text(data),
            metrics=data.get("metrics", {}))
        return
    if not node:
        return
    nodes = NodeRun.objects.filter(run_id=run_id, node=node)
    if kind == "node_progress":
        nodes.update(progress=data.get("progress", 0.0), message=data.get("message", ""))
    elif kind == "node_running":
        nodes.update(status="running", started_at=when, progress=0.0)
    elif kind in ("node_succeeded", "node_cached"):
        nodes.update(status=NODE_STATUS[kind], cached=kind == "node_cached", progress=1.0, finished_at=when,
                     duration=data.get("duration", 0.0), outputs=data.get("outputs", {}), error=None)
    elif kind == "node_failed":
        nodes.update(status="failed", finished_at=when, duration=data.get("duration"), error=data.get("error"))
    elif kind in ("node_skipped", "node_cancelled", "node_queued"):
        nodes.update(status=NODE_STATUS[kind], finished_at=None if kind == "node_queued" else when,
                     error={"message": data["reason"]} if data.get("reason") else None)


def _failed_text(data: dict) -> str:
    failed = data.get("failed_nodes") or []
    return f"node {failed[0]!r} failed" if failed else ""


def notify(run_id: int, last_seq: int) -> None:
    """Wake the run's WebSocket consumers in other processes (they read the new rows themselves)."""
    if not settings.REDIS_URL:
        return
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        async_to_sync(get_channel_layer().group_send)(group_name(run_id), {"type": "run.events", "seq": last_seq})
    except Exception:  # the consumers' slow poll still delivers; never fail a run over a notification
        log.warning("could not notify run %s consumers over the channel layer", run_id, exc_info=True)
