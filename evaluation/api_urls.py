"""REST routes of evaluation, mounted under /api/evaluation/ (each view names its roles)."""

from django.urls import path

from evaluation import api

urlpatterns = [
    path("subjects/", api.SubjectListCreateApi.as_view(), name="api-evaluation-subjects"),
    path("pools/", api.PoolListCreateApi.as_view(), name="api-evaluation-pools"),
    path(
        "pools/from-project/",
        api.PoolFromProjectApi.as_view(),
        name="api-evaluation-pool-from-project",
    ),
    path("runs/", api.RunListCreateApi.as_view(), name="api-evaluation-runs"),
    path("runs/<int:run_id>/", api.RunDetailApi.as_view(), name="api-evaluation-run"),
    path("runs/<int:run_id>/resume/", api.RunResumeApi.as_view(), name="api-evaluation-run-resume"),
    path("runs/<int:run_id>/cancel/", api.RunCancelApi.as_view(), name="api-evaluation-run-cancel"),
]
