from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "studio.deployments"
    label = "deployments"
    verbose_name = "Deployments (published models)"
