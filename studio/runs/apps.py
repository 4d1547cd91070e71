from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "studio.runs"
    label = "runs"
    verbose_name = "Runs and their events"

    def ready(self):
        import importlib

        from django.conf import settings

        for module in settings.OPERATOR_MODULES:  # plug-in operators, registered on import
            importlib.import_module(module)
        from . import tasks  # noqa: F401  (registers the queue's tasks with huey)
