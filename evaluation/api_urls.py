"""REST routes of evaluation, mounted under /api/evaluation/ (each view names its roles)."""

from django.urls import path

from evaluation import researcher_api

urlpatterns = [
    path(
        "subjects/", researcher_api.SubjectListCreateApi.as_view(), name="api-evaluation-subjects"
    ),
    path("pools/", researcher_api.PoolListCreateApi.as_view(), name="api-evaluation-pools"),
    path(
        "pools/from-project/",
        researcher_api.PoolFromProjectApi.as_view(),
        name="api-evaluation-pool-from-project",
    ),
    path("runs/", researcher_api.RunListCreateApi.as_view(), name="api-evaluation-runs"),
    path("runs/<int:run_id>/", researcher_api.RunDetailApi.as_view(), name="api-evaluation-run"),
    path(
        "runs/<int:run_id>/resume/",
        researcher_api.RunResumeApi.as_view(),
        name="api-evaluation-run-resume",
    ),
    path(
        "runs/<int:run_id>/cancel/",
        researcher_api.RunCancelApi.as_view(),
        name="api-evaluation-run-cancel",
    ),
]
