"""Publishing, rollback and unpublishing, and the registry file the serving processes watch.

Every change to what is live ends in `sync_registry()`, which writes the whole table of live deployments from
the database to one JSON file (pipelines.bundle.write_registry: temporary file, fsync, atomic rename) under a
file lock, so that the web server and the worker, both of which publish, never interleave two writes.
"""
from __future__ import annotations

import fcntl
import json
import re
import shutil
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from pipelines.bundle import BundleRefused, load_bundle, write_bundle, write_registry
from pipelines.objects import fetch_bundle, share_bundle, share_registry
from studio.core.parsers import whole_number
from studio.core.shared import shared_store

from .models import Deployment, DeploymentEvent, DeploymentVersion

SHARED_REGISTRY_LOCK = 0x5354554449_4F  # pg_advisory_xact_lock key of the shared registry's writers ("STUDIO")
KEY_PLACEHOLDER = "$SERVING_KEY"  # in the curl line; the page puts the key it holds in its place
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class DeploymentError(Exception):
    """A publish, rollback or unpublish that cannot be done; `field` names the request field at fault."""

    def __init__(self, message: str, field: str = "", status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def serving_dir() -> Path:
    return Path(getattr(settings, "SERVING_DIR", Path(settings.DATA_DIR) / "serving"))


def registry_path() -> Path:
    return serving_dir() / "registry.json"


def local_bundle(path: str) -> Path:
    """A version's bundle folder on this machine: fetched from the shared store when another web replica or
    worker published it."""
    objects = shared_store()
    if objects is not None and not Path(path).is_dir():
        try:
            return fetch_bundle(objects, f"bundles/{Path(path).parent.name}/{Path(path).name}", serving_dir())
        except (OSError, ValueError) as exc:
            raise BundleRefused(f"the bundle cannot be fetched from the shared store: {exc}") from None
    return Path(path)


def serving_url() -> str:
    return getattr(settings, "SERVING_URL", "http://127.0.0.1:8001").rstrip("/")


# ------------------------------------------------------------------------------------------------ publish
def publish(*, project, name: str, model, feature_state, holdout, user=None, run=None, node: str = "",
            threshold: float = 0.5, description: str = "", canary: int | None = None,
            shadow: bool = False) -> DeploymentVersion:
    """Build a bundle from fitted states and held-out rows, verify it, and make it the live version of the
    deployment `name` (created in `project` if new, with its two keys: on `version.new_keys`, shown once).
    `canary`: the new version takes that percent of traffic, the live one the rest; `shadow`: it scores a
    copy of every request and answers none (either way it goes live alone when nothing is live)."""
    if not NAME.match(name or ""):
        raise DeploymentError(f"deployment name {name!r} must be lower-case letters, digits, '-' or '_' "
                              "(it becomes the URL /v2/models/<name>)", "name")
    deployment, created = Deployment.objects.get_or_create(name=name, defaults={
        "project": project, "created_by": user, "description": description})
    if deployment.project_id != project.pk:
        raise DeploymentError(f"the name {name!r} is taken (deployment names are global: each is the URL "
                              f"/v2/models/<name>); choose another", "name", 409)
    if created:  # a new deployment starts with no served rows, whoever served under its name before
        from .feedback import forget_prediction_log

        forget_prediction_log(name, began=deployment.created_at.timestamp())
    # Where the model came from, readable from the bundle alone (an exported .tar.gz has no database): the run,
    # the node, and the pipeline version as its id and as the number the canvas shows.
    source = {"project": project.pk, "run": getattr(run, "pk", None), "node": node,
              "pipeline": getattr(run, "pipeline_id", None), "pipeline_version": getattr(run, "version_id", None),
              "pipeline_version_number": run.version.number if run is not None else None}
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        folder = serving_dir() / "bundles" / name / f"{number}-{uuid.uuid4().hex[:8]}"
        try:
            write_bundle(folder, name=name, version=str(number), model=model, feature_state=feature_state,
                         holdout=holdout, source=source, threshold=threshold)
            bundle = load_bundle(folder)  # the check the serving process makes: refuse here, with the reason
            if shared_store() is not None:  # every serving replica reads it from there
                share_bundle(shared_store(), folder)
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, (BundleRefused, ValueError, KeyError)) or type(exc).__name__ == "OperatorError":
                raise DeploymentError(f"the model cannot be published: {exc}") from None
            raise
        version = DeploymentVersion.objects.create(
            deployment=locked, number=number, bundle=str(folder), manifest=bundle.manifest, source_run=run,
            source_node=node, created_by=user)
        _place(locked, version, canary, shadow, user)
    version.new_keys = {}
    if created:
        from .rollout import regenerate_key

        version.new_keys = {which: regenerate_key(locked, which, user, sync=False, record=False)
                            for which in ("primary", "secondary")}
    sync_registry()
    return version


def _place(locked: Deployment, version: DeploymentVersion, canary: int | None, shadow: bool, user) -> None:
    """Where a new version goes: live alone (replace), a canary share next to the live one, or the shadow."""
    live = locked.live_version
    if live is not None and shadow:
        locked.shadow_version = version.number
        locked.save(update_fields=["shadow_version", "updated_at"])
        detail = f"v{version.number} shadows v{live.number}"
    elif live is not None and canary:
        locked.traffic = {str(live.number): 100 - canary, str(version.number): canary}
        locked.save(update_fields=["traffic", "updated_at"])
        detail = f"canary at {canary}%"
    else:
        locked.live_version, locked.traffic = version, {}
        locked.save(update_fields=["live_version", "traffic", "updated_at"])
        detail = ""
    DeploymentEvent.objects.create(deployment=locked, action=DeploymentEvent.Action.PUBLISHED,
                                   version=version.number, detail=detail, user=user)


def load_bundle_checked(deployment: Deployment, number: int) -> DeploymentVersion:
    """A version of the deployment whose bundle loads and verifies, or the reason it cannot serve."""
    version = deployment.versions.filter(number=number).first()
    if version is None:
        raise DeploymentError(f"deployment {deployment.name!r} has no version {number}", "version", 404)
    try:
        load_bundle(local_bundle(version.bundle))
    except BundleRefused as exc:
        raise DeploymentError(f"version {number} cannot serve: {exc}", "version") from None
    return version


def rollback(deployment: Deployment, number: int, user=None) -> DeploymentVersion:
    """Make an earlier (or any existing) version live again, alone (a traffic split ends); its bundle is
    verified again first."""
    version = load_bundle_checked(deployment, number)
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(live_version=version, traffic={})
        DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.ROLLED_BACK,
                                       version=number, user=user)
    sync_registry()
    deployment.refresh_from_db()
    return version


def unpublish(deployment: Deployment, user=None) -> None:
    """Take the deployment off the serving processes; its versions stay, so it can be rolled back later."""
    if deployment.live_version_id is None:
        raise DeploymentError(f"deployment {deployment.name!r} is not live")
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(live_version=None, traffic={}, shadow_version=None)
        DeploymentEvent.objects.create(deployment=deployment, action=DeploymentEvent.Action.UNPUBLISHED,
                                       user=user)
    sync_registry()
    deployment.refresh_from_db()


# ----------------------------------------------------------------------------------------------- registry
@contextmanager
def _registry_lock():
    path = serving_dir() / "registry.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def registry_models() -> dict:
    """name -> {"live", "versions", and the keys, split, shadow, limit and logging of rollout.registry_entry}
    for every deployment; an unpublished one keeps its name (and keys) with no live version, so the serving
    process can say so instead of "unknown model"."""
    from .rollout import registry_entry

    models = {}
    for deployment in Deployment.objects.prefetch_related("versions").select_related("live_version"):
        if deployment.live_version is None:
            models[deployment.name] = {"live": None, "versions": {}, "keys": registry_entry(deployment)["keys"]}
            continue
        models[deployment.name] = {
            "live": str(deployment.live_version.number),
            "versions": {str(v.number): {"bundle": v.bundle} for v in deployment.versions.all()},
            **registry_entry(deployment),
        }
    return models


def sync_registry() -> Path:
    """Write the registry from the database (under a lock, read and write together, so writes never go
    back in time)."""
    with _registry_lock(), transaction.atomic():
        if shared_store() is not None and connection.vendor == "postgresql":
            # Web replicas and workers on other machines write the shared registry too: a PostgreSQL advisory
            # lock, held until this transaction ends, orders their read-and-write as the file lock does here.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SHARED_REGISTRY_LOCK])
        from .rollout import control_token, hash_key

        models, control = registry_models(), [hash_key(control_token())]
        write_registry(registry_path(), models, control=control)
        if shared_store() is not None:  # the serving replicas on other machines follow this one
            share_registry(shared_store(), models, control=control)
    return registry_path()


def serving_state(name: str, timeout: float = 0.5) -> dict:
    """What the serving process says of a deployment: its live version, or why it cannot be asked."""
    try:
        with urllib.request.urlopen(_control_request(f"{serving_url()}/v2/models/{name}"),
                                    timeout=timeout) as response:
            meta = json.loads(response.read())
        return {"reachable": True, "live_version": meta["parameters"]["live_version"], "versions": meta["versions"],
                "traffic": meta["parameters"].get("traffic", {}), "shadow": meta["parameters"].get("shadow")}
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read()).get("error", "")
        except ValueError:
            error = str(exc)
        return {"reachable": True, "live_version": None, "error": error}
    except (OSError, ValueError, KeyError) as exc:
        return {"reachable": False, "error": f"serving process at {serving_url()} did not answer: {exc}"}


def _control_request(url: str) -> urllib.request.Request:
    from .rollout import control_headers

    return urllib.request.Request(url, headers=control_headers())


def serving_metrics(name: str, timeout: float = 0.5) -> dict:
    """Per version: requests, errors, mean latency and the latency histogram, from the serving /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(_control_request(f"{serving_url()}/metrics"), timeout=timeout) as response:
            text = response.read().decode()
    except OSError:
        return {}
    versions: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("model") != name:
                continue
            entry = versions.setdefault(sample.labels.get("version", ""), {
                "requests": 0.0, "errors": 0.0, "latency_sum": 0.0, "latency_count": 0.0, "latency_buckets": {},
                "scores": {}, "shadow": {}})
            _add_sample(entry, sample)
    for entry in versions.values():
        count = entry["latency_count"]
        entry["latency_mean_seconds"] = entry["latency_sum"] / count if count else None
    return versions


_SUMS = {"serving_requests_total": "requests", "serving_request_errors_total": "errors",
         "serving_request_duration_seconds_sum": "latency_sum",
         "serving_request_duration_seconds_count": "latency_count"}
# (sample name, label) -> the entry's dict that label's values count in
_BY_LABEL = {("serving_request_duration_seconds_bucket", "le"): "latency_buckets",
             ("serving_scores_total", "bin"): "scores", ("serving_shadow_requests_total", "outcome"): "shadow"}


def _add_sample(entry: dict, sample) -> None:
    if sample.name in _SUMS:
        entry[_SUMS[sample.name]] += sample.value
        return
    for (name, label), key in _BY_LABEL.items():
        if sample.name == name:
            value = sample.labels[label]
            entry[key][value] = entry[key].get(value, 0.0) + sample.value


def curl_example(deployment: Deployment) -> str:
    """A copyable request with the first held-out row of the live version."""
    version = deployment.live_version or deployment.versions.order_by("-number").first()
    if version is None:
        return ""
    try:
        holdout = json.loads((Path(version.bundle) / "holdout.json").read_text())
        row = {name: values[0] for name, values in holdout["columns"].items()}
    except (OSError, ValueError, KeyError, IndexError):
        row = {s["name"]: None for s in version.manifest.get("inputs", [])}
    return curl_line(deployment.name, row)


def curl_line(name: str, row: dict) -> str:
    """The curl command a person copies into a shell: the row's JSON is one single-quoted shell word whatever its
    values hold (a held-out value such as O'Brien or $(...) stays data, not shell syntax)."""
    body = json.dumps({"instances": [row]}).replace("'", "'\\''")  # ' as '\'': frontend/src/deployments/curl.ts
    return (f"curl -s -X POST {serving_url()}/v1/models/{name}:predict "
            f"-H \"Authorization: Bearer {KEY_PLACEHOLDER}\" -H 'Content-Type: application/json' -d '{body}'")


def publisher_for(run):
    """What the worker hands the executor as `publisher`: the publish operator's ctx.publish registers a new
    live version of the deployment in the run's project."""

    def publish_from_run(*, node: str, name: str, model, feature_state, holdout, threshold: float) -> dict:
        import threading

        from django.db import connection

        from operators import OperatorError

        try:
            version = publish(project=run.project, name=name, model=model, feature_state=feature_state,
                              holdout=holdout, user=run.requested_by, run=run, node=node, threshold=threshold)
        except DeploymentError as exc:
            raise OperatorError(exc.message, field="deployment" if exc.field == "name" else None) from None
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # the executor's node threads come and go; don't leave connections behind
        return {"deployment": name, "version": str(version.number), "live": True, "bundle": version.bundle}

    return publish_from_run


def bundle_resolver_for(run):
    """What the worker hands the executor as `bundles`: a deployment of the run's project by name, its live
    version unless a version number is given."""

    def resolve(name: str, version: str | None):
        import threading

        from django.db import connection

        try:
            deployment = Deployment.objects.filter(project=run.project, name=name).select_related(
                "live_version").first()
            if deployment is None:
                return None
            if version in (None, ""):
                return deployment.live_version.bundle if deployment.live_version else None
            found = deployment.versions.filter(number=int(version)).first() if whole_number(version) \
                else None
            return found.bundle if found else None
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    return resolve


def prediction_logs_for(run):
    """What the worker hands the executor as `prediction_logs`: a deployment of the run's project by name ->
    its prediction log's root, its labels (stored 0 / 1 against the classes of the version that served each row,
    with that version), its label values ([negative, positive] from its live bundle: what import_prediction_log
    reads labels back as) and each version's; None for any other name."""

    def resolve(name: str):
        from .feedback import deployment_classes, labels_frame, prediction_log_dir, version_classes

        deployment = _in_run_project(run, name)
        if deployment is None:
            return None
        try:
            classes, versions = deployment_classes(deployment), version_classes(deployment)
        finally:
            _close_thread_connection()

        def labels():
            try:
                return labels_frame(deployment)
            finally:
                _close_thread_connection()

        return {"directory": prediction_log_dir(), "labels": labels, "classes": classes, "version_classes": versions}

    return resolve


def decision_recorder_for(run):
    """What the worker hands the executor as `decisions`: publish_if_better's decisions, kept per deployment."""

    def record(*, node: str, deployment: str, decision: dict) -> None:
        from .models import Decision

        try:
            found = Deployment.objects.filter(project=run.project, name=deployment).first()
            if found is None:  # nothing was ever published under the name: nothing to keep the decision on
                return
            Decision.objects.create(
                deployment=found, run=run, node=node, metric=decision["metric"],
                champion_version=_number(decision.get("champion_version")), champion_score=decision["champion_score"],
                challenger_score=decision["challenger_score"], margin=decision["margin"],
                published=decision["published"], version=_number(decision.get("version")),
                reason=decision["reason"], rows=decision["rows"])
        finally:
            _close_thread_connection()

    return record


def _number(value) -> int | None:
    return int(value) if value not in (None, "") and whole_number(value) else None


def _in_run_project(run, name: str):
    try:
        return Deployment.objects.filter(project=run.project, name=name).first()
    finally:
        _close_thread_connection()


def _close_thread_connection() -> None:
    import threading

    from django.db import connection

    if threading.current_thread() is not threading.main_thread():
        connection.close()  # the executor's node threads come and go; don't leave connections behind
