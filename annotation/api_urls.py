"""REST routes of this app, mounted under /api/annotation/ (each view names its roles)."""

from django.urls import path

from annotation import api, researcher_api

urlpatterns = [
    path(
        "schemes/",
        researcher_api.SchemeListCreateApi.as_view(),
        name="api-annotation-schemes",
    ),
    path(
        "projects/", researcher_api.ProjectListCreateApi.as_view(), name="api-annotation-projects"
    ),
    path(
        "projects/<int:project_id>/items/import/",
        researcher_api.ItemImportApi.as_view(),
        name="api-annotation-import",
    ),
    path(
        "projects/<int:project_id>/export/",
        researcher_api.ProjectExportApi.as_view(),
        name="api-annotation-export",
    ),
    path(
        "projects/<int:project_id>/next/",
        api.NextItemApi.as_view(),
        name="api-annotation-next",
    ),
    path(
        "items/<int:item_id>/annotations/",
        api.AnnotationSubmitApi.as_view(),
        name="api-annotation-submit",
    ),
    path(
        "items/<int:item_id>/lease/heartbeat/",
        api.LeaseHeartbeatApi.as_view(),
        name="api-annotation-heartbeat",
    ),
    path(
        "items/<int:item_id>/lease/release/",
        api.LeaseReleaseApi.as_view(),
        name="api-annotation-release",
    ),
    path(
        "projects/<int:project_id>/workers/",
        researcher_api.WorkerQualityApi.as_view(),
        name="api-annotation-workers",
    ),
    path(
        "projects/<int:project_id>/workers/<str:pseudonym>/exclude/",
        researcher_api.WorkerExcludeApi.as_view(),
        name="api-annotation-worker-exclude",
    ),
    path(
        "projects/<int:project_id>/settings/",
        researcher_api.ProjectSettingsApi.as_view(),
        name="api-annotation-settings",
    ),
    path(
        "projects/<int:project_id>/items/role/",
        researcher_api.ItemRoleApi.as_view(),
        name="api-annotation-item-role",
    ),
    path(
        "projects/<int:project_id>/attention-checks/",
        researcher_api.AttentionChecksApi.as_view(),
        name="api-annotation-attention-checks",
    ),
]


urlpatterns += [
    path(
        "projects/<int:project_id>/prelabel/",
        researcher_api.PrelabelStartApi.as_view(),
        name="api-annotation-prelabel",
    ),
    path(
        "projects/<int:project_id>/dashboard/",
        researcher_api.DashboardApi.as_view(),
        name="api-annotation-dashboard",
    ),
    path(
        "projects/<int:project_id>/review/",
        researcher_api.ReviewQueueApi.as_view(),
        name="api-annotation-review",
    ),
    path(
        "items/<int:item_id>/adjudication/",
        researcher_api.AdjudicationApi.as_view(),
        name="api-annotation-adjudication",
    ),
]
