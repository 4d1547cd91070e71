"""The feedback endpoint's CPU per 100,000 labels, this checkout against another, alternating in one sitting.

    .venv/bin/python benchmarks/feedback_cpu.py --against /work/main --rounds 2

Each round runs, in a fresh process per checkout (its own code first on sys.path, SQLite in a temp data dir), the
set-up of benchmarks/closed_loop.py's feedback figure (100,000 served rows in the prediction log, 100 requests of
1,000 rows) and POSTs the 100,000 labels in calls of 10,000 through Django's test client: once new, then three
times replaced. It prints the process time (CPU, steadier than wall time on a shared machine) and the wall time
of each pass.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ONE = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np
from benchmarks.closed_loop import write_log
from benchmarks.studio_db import studio_db
with studio_db("feedbackcpu", False):
    from django.conf import settings
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient
    from studio.deployments.models import Deployment
    from studio.projects.models import Membership, Project, Role
    user = User.objects.create_user("bench", password="pw")
    project = Project.objects.create(name="bench", created_by=user)
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    Deployment.objects.create(project=project, name="bench", created_by=user)
    n = 1_000
    ids = write_log(Path(settings.SERVING_DIR) / "prediction_log", "bench", 100, n,
                    {"age": np.arange(n, dtype=np.float64)}, np.linspace(0, 1, n))
    labels = [{"request_id": r, "row": i, "label": i % 2} for r in ids for i in range(n)]
    client = APIClient()
    client.force_authenticate(user)
    out = []
    for what in ("new", "replaced", "replaced", "replaced"):
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, len(labels), 10_000):
            answer = client.post("/api/deployments/bench/feedback/", {"labels": labels[start:start + 10_000]},
                                 format="json")
            assert answer.status_code == 200 and answer.json()[what] == 10_000, answer.content[:300]
        out.append(f"{what} CPU {time.process_time() - cpu:.2f} s (wall {time.perf_counter() - wall:.2f} s)")
    print(f"{sys.argv[1]}: " + "; ".join(out), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="another checkout, say main's")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for checkout in (REPO, args.against.resolve()):
            subprocess.run([sys.executable, "-c", ONE, str(checkout)], check=True)


if __name__ == "__main__":
    main()
