"""Production controls of a deployment: its endpoint keys, its traffic split (canary, promote), its shadow
version, its per-key rate limit and what its prediction log keeps. Each change is saved, recorded in the
history and ends in `services.sync_registry()`: the serving processes apply it within a poll interval, without
a restart (a regenerated key replaces only the one it regenerates, so callers holding the other go on)."""
from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings
from django.db import transaction

from studio.core.parsers import whole_number
from studio.serving.auth import hash_key, new_key  # the key format and hash the serving process checks

from .models import Deployment, DeploymentEvent
from .services import DeploymentError, load_bundle_checked, sync_registry

MAX_VERSIONS_IN_SPLIT = 5


def regenerate_key(deployment: Deployment, which: str, user=None, *, sync: bool = True,
                   record: bool = True) -> str:
    """A new `which` ("primary" or "secondary") key: returned once, stored as its hash. `record`: in the
    history (not the keys a new deployment is made with)."""
    if which not in ("primary", "secondary"):
        raise DeploymentError("which key: 'primary' or 'secondary'", "which")
    key = new_key()
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(**{f"{which}_key_hash": hash_key(key),
                                                              f"{which}_key_hint": key[-4:]})
        if record:
            DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.KEY_REGENERATED,
                                           detail=which, user=user)
    if sync:
        sync_registry()
    deployment.refresh_from_db()
    return key


def _check_weights(deployment: Deployment, weights: dict) -> dict[str, int]:
    if not isinstance(weights, dict) or not weights:
        raise DeploymentError("weights: an object {version: percent}", "weights")
    if len(weights) > MAX_VERSIONS_IN_SPLIT:
        raise DeploymentError(f"weights: at most {MAX_VERSIONS_IN_SPLIT} versions share traffic", "weights")
    numbers = set(deployment.versions.values_list("number", flat=True))
    clean = {}
    for version, weight in weights.items():
        if not whole_number(version) or len(str(version)) > 9 or int(version) not in numbers:
            raise DeploymentError(f"weights: deployment {deployment.name!r} has no version {version}", "weights",
                                  404)
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
            raise DeploymentError(f"weights: version {version}'s weight must be a whole percent 0-100", "weights")
        clean[str(int(version))] = weight
    if sum(clean.values()) != 100:
        raise DeploymentError(f"weights: the percents add up to {sum(clean.values())}, not 100", "weights")
    return {v: w for v, w in clean.items() if w > 0}


def set_traffic(deployment: Deployment, weights: dict, user=None,
                action: str = DeploymentEvent.Action.TRAFFIC) -> Deployment:
    """Split live traffic over versions (e.g. {"1": 90, "2": 10}); the heaviest version is the live one."""
    clean = _check_weights(deployment, weights)
    for number in clean:
        load_bundle_checked(deployment, int(number))
    heaviest = max(clean, key=lambda v: (clean[v], int(v)))
    live = deployment.versions.get(number=int(heaviest))
    # The shadow now answering every request would never be scored again (set_shadow refuses such a shadow): its
    # trial is over, so it is turned off with the change, and the history says why.
    shadow_done = deployment.shadow_version is not None and set(clean) == {str(deployment.shadow_version)}
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(traffic=clean if len(clean) > 1 else {},
                                                           live_version=live)
        DeploymentEvent.objects.create(deployment=deployment, action=action, version=int(heaviest),
                                       detail=_describe(clean), user=user)
        if shadow_done:
            Deployment.objects.filter(pk=deployment.pk).update(shadow_version=None)
            DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.SHADOW,
                                           detail=f"off: v{heaviest} answers every request", user=user)
    sync_registry()
    deployment.refresh_from_db()
    return deployment


def promote(deployment: Deployment, number: int, user=None) -> Deployment:
    """The version takes all traffic."""
    load_bundle_checked(deployment, number)  # an unknown version is named as the caller sent it: `version`
    return set_traffic(deployment, {str(number): 100}, user, DeploymentEvent.Action.PROMOTED)


def canary(deployment: Deployment, number: int, percent: int, user=None) -> Deployment:
    """`number` takes `percent` of traffic, the live version the rest (the publish's "canary at X%")."""
    if not 0 < percent < 100:
        raise DeploymentError("canary: a percent between 1 and 99", "canary")
    load_bundle_checked(deployment, number)
    if deployment.live_version_id is None:
        return promote(deployment, number, user)
    if deployment.live_version.number == number:  # it would have become a promote, without a word
        raise DeploymentError(f"v{number} is the live version: a canary sends part of the traffic to another "
                              "version (promote sends all of it)", "version")
    return set_traffic(deployment, {str(deployment.live_version.number): 100 - percent, str(number): percent},
                       user, DeploymentEvent.Action.CANARY)


def set_shadow(deployment: Deployment, number: int | None, user=None) -> Deployment:
    if number is not None:
        load_bundle_checked(deployment, number)
        if set(deployment.weights()) == {str(number)}:  # the serving process never shadows the version answering
            raise DeploymentError(f"v{number} answers every request: a shadow is another version, scored on a "
                                  "copy of each request and compared with the live answer", "version")
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(shadow_version=number)
        DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.SHADOW, version=number,
                                       detail="off" if number is None else f"v{number} shadows", user=user)
    sync_registry()
    deployment.refresh_from_db()
    return deployment


def settings_changed(deployment: Deployment, fields: list[str], user=None) -> None:
    DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.SETTINGS,
                                   detail=", ".join(fields)[:200], user=user)
    sync_registry()


def _describe(weights: dict[str, int]) -> str:
    return " / ".join(f"v{v} {w}%" for v, w in sorted(weights.items(), key=lambda item: -item[1]))


def registry_entry(deployment: Deployment) -> dict:
    """What the serving process needs beyond the versions: key hashes, split, shadow, limit, logging."""
    entry: dict = {"keys": [h for h in (deployment.primary_key_hash, deployment.secondary_key_hash) if h]}
    if deployment.traffic:
        entry["traffic"] = {str(k): int(v) for k, v in deployment.traffic.items()}
    if deployment.shadow_version is not None:
        entry["shadow"] = str(deployment.shadow_version)
    if deployment.rate_limit_rps:
        entry["rate_limit"] = {"rps": deployment.rate_limit_rps,
                               "burst": deployment.rate_limit_burst or max(1, int(deployment.rate_limit_rps))}
    entry["log"] = {"share": deployment.log_share, "exclude": list(deployment.log_exclude or [])}
    return entry


# ------------------------------------------------------------------------------------------- control token
def control_token() -> str:
    """The studio's token for the serving processes' metadata and /metrics (never scoring):
    SERVING_CONTROL_TOKEN when set (a Prometheus scraper holds it too), else derived from SECRET_KEY, so that
    every web and worker process of one studio, which all write the registry, names the same token."""
    configured = getattr(settings, "SERVING_CONTROL_TOKEN", "") or os.environ.get("SERVING_CONTROL_TOKEN", "")
    if configured:
        return configured
    digest = hmac.new(settings.SECRET_KEY.encode(), b"studio serving control token", hashlib.sha256).hexdigest()
    return f"sk_control_{digest}"


def control_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {control_token()}"}
