from django.urls import re_path

from . import views

# Included last by studio/urls.py, so the API, the admin and static files match first.
urlpatterns = [
    re_path(r"^assets/(?P<path>.+)$", views.asset, name="frontend-asset"),
    re_path(r"^(?!api/|admin/|ws/|static/|assets/)(?P<path>.*)$", views.index, name="frontend"),
]
