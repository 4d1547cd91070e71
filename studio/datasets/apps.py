from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "studio.datasets"
    label = "datasets"
    verbose_name = "Uploads and connections"
