"""Once per data dir: a demo admin (password generated into the data dir) and a demo project holding the
example pipeline and its data. Later calls only print how to log in."""
from __future__ import annotations

import hashlib
import secrets
import shutil

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

import pipelines
from studio.core.shared import share_upload

REPO = settings.BASE_DIR
DEMO_PIPELINE = REPO / "examples" / "credit_default.json"
DEMO_CSV = REPO / "examples" / "data" / "credit_default.csv"
DEMO_PROJECT = "Demo: credit default"


class Command(BaseCommand):
    help = "Create the demo admin and the demo project (idempotent) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        from studio.datasets.models import Upload
        from studio.datasets.preview import preview
        from studio.projects.models import Membership, Project, Role
        from studio.workflows.models import Pipeline

        password_file = settings.DATA_DIR / "demo_admin_password"
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_superuser(username, f"{username}@example.invalid", password)
                password_file.write_text(password + "\n")
                password_file.chmod(0o600)
            if not Project.objects.filter(name=DEMO_PROJECT).exists():
                project = Project.objects.create(name=DEMO_PROJECT, created_by=user,
                                                 description="The example credit-default pipeline and its data.")
                Membership.objects.create(project=project, user=user, role=Role.OWNER)
                graph = pipelines.load(DEMO_PIPELINE)
                pipeline = Pipeline.objects.create(project=project, name=graph.name or "Credit default",
                                                   created_by=user)
                pipeline.save_graph(graph, user, "demo")
                if not DEMO_CSV.exists():  # `make run` writes it first; run on its own, the command does
                    from examples.make_demo_data import main as write_demo_data

                    write_demo_data(str(DEMO_CSV))
                relative = "data/credit_default.csv"
                target = project.data_root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(DEMO_CSV, target)
                # with its preview, as an upload gets one: the Data page lists its columns and the canvas's column
                # pickers know them before any run
                with open(target, "rb") as handle:
                    head = handle.read(64 * 1024)
                upload = Upload.objects.create(project=project, name="credit_default.csv", path=relative,
                                               size=target.stat().st_size, content_type="csv", created_by=user,
                                               sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
                                               preview=preview(target, "csv", head))
                share_upload(upload)  # the workers of a multi-machine studio read it from the shared store
        if password_file.exists():
            how = f"password: {password_file.read_text().strip()}  (kept in {password_file})"
        else:
            how = "password: the one you set (the demo did not create this user)"
        self.stdout.write(f"Log in at /admin/ or the canvas as {username!r}, {how}")
