from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "studio.workflows"
    label = "workflows"
    verbose_name = "Pipelines and versions"
