"""Live run events at /ws/runs/<id>/?after=<seq>: every stored RunEvent with seq > after, in order, then the
new ones as they are stored; the socket closes (code 1000) after the run_finished event.

One loop per socket reads the RunEvent table from the last seq it sent, so order and exactly-once delivery
come from the database, whichever process wrote the rows. What wakes the loop: with REDIS_URL, a
channels-redis group message the worker sends after each commit (and a slow poll as a safety net); without
Redis, a short poll (EVENT_POLL_SECONDS, 0.1 s). A reconnecting client passes the last seq it saw.
"""
from __future__ import annotations

import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from studio.projects.permissions import visible

from .events import group_name
from .models import FINISHED, Run, RunEvent

BATCH = 500


class RunEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        try:
            self.last_seq = int(_query(self.scope).get("after", "0"))
        except ValueError:
            self.last_seq = -1
        if self.last_seq < 0:
            await self.close(code=4400)  # bad ?after
            return
        if not await self._may_read(self.scope.get("user")):
            await self.close(code=4404)  # not logged in, or not a member: the run does not exist for you
            return
        self.wakeup = asyncio.Event()
        self.grouped = bool(settings.REDIS_URL)
        if self.grouped:
            await self.channel_layer.group_add(group_name(self.run_id), self.channel_name)
        await self.accept()
        self.tail = asyncio.create_task(self._tail())

    async def disconnect(self, code):
        tail = getattr(self, "tail", None)
        if tail is not None:
            tail.cancel()
        if getattr(self, "grouped", False):
            await self.channel_layer.group_discard(group_name(self.run_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        pass  # the stream is one-way; clients reconnect with ?after= to resume

    async def run_events(self, message):
        """Group message from a worker: new rows were committed."""
        self.wakeup.set()

    async def _tail(self):
        while True:
            rows, finished = await self._read()
            for row in rows:
                await self.send_json(row)
                self.last_seq = row["seq"]
                if row["type"] == "run_finished":
                    await self.close(code=1000)
                    return
            if finished and not rows:
                await self.close(code=1000)
                return
            if len(rows) == BATCH:
                continue
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):  # no wakeup: poll the table anyway
                await asyncio.wait_for(self.wakeup.wait(), timeout=settings.EVENT_POLL_SECONDS)

    @database_sync_to_async
    def _may_read(self, user) -> bool:
        return user is not None and visible(Run.objects.filter(pk=self.run_id), user).exists()

    @database_sync_to_async
    def _read(self):
        rows = [e.as_json() for e in RunEvent.objects.filter(run_id=self.run_id, seq__gt=self.last_seq)
                .order_by("seq")[:BATCH]]
        finished = not rows and Run.objects.filter(pk=self.run_id, status__in=FINISHED).exists() and \
            not RunEvent.objects.filter(run_id=self.run_id, seq__gt=self.last_seq).exists()
        return rows, finished


def _query(scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
