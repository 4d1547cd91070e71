from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "studio.schedules"
    label = "schedules"
    verbose_name = "Schedules and their fires"
