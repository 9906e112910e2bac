"""REST routes of this app, mounted under /api/annotation/ (each view names its roles)."""

from django.urls import path

from annotation import api

urlpatterns = [
    path("schemes/", api.SchemeListCreateApi.as_view(), name="api-annotation-schemes"),
    path("projects/", api.ProjectListCreateApi.as_view(), name="api-annotation-projects"),
    path(
        "projects/<int:project_id>/items/import/",
        api.ItemImportApi.as_view(),
        name="api-annotation-import",
    ),
    path(
        "projects/<int:project_id>/export/",
        api.ProjectExportApi.as_view(),
        name="api-annotation-export",
    ),
]

from annotation import dashboard_api  # noqa: E402

urlpatterns += [
    path(
        "projects/<int:project_id>/prelabel/",
        dashboard_api.PrelabelStartApi.as_view(),
        name="api-annotation-prelabel",
    ),
]
