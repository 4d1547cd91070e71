"""docker/ checked by the real tools, with no Docker engine: compose.yaml by a compose implementation (Debian's
docker-compose: `config` parses, interpolates and validates it against the compose schema), the Kubernetes
manifests built by `kubectl kustomize` and validated against the Kubernetes schemas (kubernetes-validate,
strict: unknown fields fail), and the rules the images and files must keep: a healthcheck on every service, no
secret in an image or a committed file, non-root images on pinned bases, a serving image without training code.
`make deploy-tools` installs docker-compose, kubectl and nginx."""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO

DOCKER = REPO / "docker"
K8S_VERSION = "1.31.0"
# made up per test session, so that finding one in a committed file means the file got it from a real env file
SECRETS = {key: secrets.token_hex(12) for key in ("POSTGRES_PASSWORD", "SECRET_KEY", "MINIO_ROOT_PASSWORD")}
SERVICES = {"postgres", "redis", "minio", "spark-master", "spark-worker", "web", "worker-train", "worker-light",
            "scheduler", "serving", "serving-lb"}


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: run `make deploy-tools`"
    return found


def compose_config(env_file: Path | None) -> subprocess.CompletedProcess:
    command = [tool("docker-compose"), "-f", str(DOCKER / "compose.yaml")]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    return subprocess.run(command + ["config"], capture_output=True, text=True, timeout=60,
                          cwd=env_file.parent if env_file else DOCKER)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    """docker/env.example with every secret filled in by values that must then appear nowhere committed."""
    text = (DOCKER / "env.example").read_text()
    for key, value in SECRETS.items():
        text, found = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
        assert found == 1, f"env.example names no {key}"
    path = tmp_path_factory.mktemp("env") / ".env"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def compose(env_file) -> dict:
    done = compose_config(env_file)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose_config_accepts_the_file_with_an_env_file_and_names_each_missing_secret(compose):
    assert set(compose["services"]) >= SERVICES
    done = compose_config(None)
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in docker/.env" in done.stderr


def test_every_service_has_a_healthcheck_and_waits_for_what_it_needs(compose):
    services = compose["services"]
    assert [n for n, s in services.items() if not s.get("healthcheck", {}).get("test")] == []
    for name in ("web", "worker-train", "worker-light", "scheduler"):
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy", name
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
    assert services["serving-lb"]["depends_on"]["serving"]["condition"] == "service_healthy"
    assert services["serving"]["deploy"]["replicas"] >= 2
    assert services["worker-train"]["environment"]["STUDIO_QUEUE_NAME"] == \
        services["web"]["environment"]["STUDIO_TRAINING_QUEUE"] != services["worker-light"]["environment"][
            "STUDIO_QUEUE_NAME"]
    assert all(s["environment"]["STUDIO_ARTIFACTS"].startswith("s3://") for n, s in services.items()
               if n in ("web", "worker-train", "worker-light", "serving"))
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data", "minio-data", "studio-data"}


def test_the_secrets_come_from_the_env_file_only(compose):
    rendered = yaml.safe_dump(compose)
    for value in SECRETS.values():
        assert value in rendered  # interpolated from the env file into the running config...
    committed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in committed.decode().split("\0"):
        path = REPO / name
        if not name or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="replace")
        for value in SECRETS.values():  # ...and in no committed file
            assert value not in text, name
        assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----", text), name
    for line in (DOCKER / "compose.yaml").read_text().splitlines():
        if re.search(r"(PASSWORD|SECRET|_KEY\b|_KEY_ID)\w*:\s*\S", line):
            assert re.search(r":\s*\$\{[A-Z_]+:?[?-]", line), f"a literal secret in compose.yaml: {line.strip()}"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"var", ".env", "docker/env"} <= set(ignored)  # the data dir holds the generated secret key
    assert {"docker/.env", "*.env"} <= set((REPO / ".gitignore").read_text().split())


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "serving.Dockerfile"])
def test_images_run_as_a_user_with_a_healthcheck_on_pinned_bases_and_no_secret(dockerfile):
    text = (DOCKER / dockerfile).read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert bases and all(re.search(r":\d[\w.-]*$", b) for b in bases), bases  # a version tag, never latest
    assert re.search(r"^USER\s+(?!root)\w+", text, flags=re.M) and "HEALTHCHECK" in text
    assert not re.search(r"^(ENV|ARG)\s.*(PASSWORD|SECRET|TOKEN|_KEY)", text, flags=re.M | re.I)


def test_the_studio_image_builds_the_canvas_first_and_the_serving_image_carries_no_training_code():
    studio = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM node:\S+ AS frontend", studio, flags=re.M) and "--from=frontend" in studio
    serving = (DOCKER / "serving.Dockerfile").read_text()
    installs = " ".join(re.findall(r"pip install ([^\n\\]+(?:\\\n[^\n\\]+)*)", serving))
    for library in ("pyspark", "django", "scikit-learn", "pandas", "huey", "channels"):
        assert library not in installs.lower(), library
    assert "--no-deps" in serving and "openjdk" not in serving


def kustomize(folder: Path) -> list[dict]:
    done = subprocess.run([tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.mark.parametrize("folder", ["base", "overlays/production"])
def test_the_kubernetes_manifests_build_and_pass_strict_schema_validation(folder):
    resources = kustomize(DOCKER / "k8s" / folder)
    for resource in resources:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)  # raises on the first schema error
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources}
    for name in ("web", "worker-train", "worker-light", "serving", "spark-master", "spark-worker", "redis"):
        assert ("Deployment", name) in kinds, name
    assert {("Service", "web"), ("Service", "serving"), ("HorizontalPodAutoscaler", "serving"),
            ("CronJob", "scheduler"), ("Job", "migrate"), ("StatefulSet", "postgres")} <= kinds


def test_kubernetes_readiness_on_the_health_endpoints_and_serving_scales_on_cpu():
    resources = {(r["kind"], r["metadata"]["name"]): r for r in kustomize(DOCKER / "k8s" / "overlays" / "production")}

    def container(kind, name):
        return resources[(kind, name)]["spec"]["template"]["spec"]["containers"][0]

    assert container("Deployment", "web")["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert container("Deployment", "serving")["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    hpa = resources[("HorizontalPodAutoscaler", "serving")]["spec"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu" and hpa["minReplicas"] == 3  # the overlay's patch
    job = resources[("CronJob", "scheduler")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"][-2:] == ["run_scheduler", "--once"]
    assert container("Deployment", "web")["image"] == "registry.example.com/studio:0.1.0"
    for (kind, name), resource in resources.items():  # no secret value inline: only references to studio-secrets
        for env in (resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
                    .get("env", [])):
            if re.search(r"PASSWORD|SECRET|KEY", env["name"]):
                assert "valueFrom" in env, (kind, name, env["name"])


def test_every_setting_compose_and_kubernetes_give_the_studio_is_one_the_code_reads(compose):
    """A misspelt variable would be silently ignored and the embedded default used instead."""
    read = set()
    for folder in ("studio", "pipelines", "operators"):
        for path in (REPO / folder).rglob("*.py"):
            read |= set(re.findall(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']", path.read_text()))
    read |= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # read by boto3 itself
    for name in ("web", "worker-train", "worker-light", "scheduler", "serving", "migrate"):
        unknown = set(compose["services"][name]["environment"]) - read
        assert unknown == set(), (name, unknown)
    config = next(r for r in kustomize(DOCKER / "k8s" / "base") if r["kind"] == "ConfigMap")
    assert set(config["data"]) - read == set()
