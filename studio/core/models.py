"""The core app's one table: WebSocket tickets."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class WsTicket(models.Model):
    """A short-lived, single-use pass for opening one WebSocket (`/ws/runs/<id>/?ticket=...`), so that no
    long-lived credential ever appears in a URL (URLs land in access logs). Only its sha256 is stored; it is
    in the database, not a process's memory, so any web process can redeem what another issued."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    @classmethod
    def issue(cls, user) -> tuple[str, int]:
        """A new ticket for `user` and how many seconds it is valid; expired ones are swept on the way."""
        seconds = settings.WS_TICKET_SECONDS
        cls.objects.filter(expires_at__lt=timezone.now()).delete()
        ticket = secrets.token_urlsafe(32)
        cls.objects.create(digest=_digest(ticket), user=user, expires_at=timezone.now() + timedelta(seconds=seconds))
        return ticket, seconds

    @classmethod
    def redeem(cls, ticket: str):
        """The ticket's user, once: the row is deleted by the same statement that proves it was there, so two
        sockets racing with one ticket cannot both win. None when unknown, used or expired."""
        if not ticket or len(ticket) > 100:
            return None
        row = cls.objects.filter(digest=_digest(ticket)).select_related("user").first()
        if row is None or cls.objects.filter(pk=row.pk).delete()[0] != 1:
            return None
        if row.expires_at <= timezone.now() or not row.user.is_active:
            return None
        return row.user
