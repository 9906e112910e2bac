"""Pages of this app, mounted under /annotation/ (each view names its roles)."""

from django.urls import path

from annotation import views

app_name = "annotation"

urlpatterns = [
    path("projects/<slug:slug>/", views.project_detail, name="project"),
]

from annotation import dashboard  # noqa: E402

urlpatterns += [
    path("projects/<slug:slug>/prelabel/", dashboard.prelabel_panel, name="prelabel_panel"),
]
