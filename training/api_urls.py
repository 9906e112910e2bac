"""REST routes of training, mounted under /api/training/ (each view names its roles)."""

from django.urls import path

from training import researcher_api

urlpatterns = [
    path(
        "evaluators/",
        researcher_api.EvaluatorListCreateApi.as_view(),
        name="api-training-evaluators",
    ),
    path(
        "evaluators/<int:artifact_id>/score/",
        researcher_api.EvaluatorScoreApi.as_view(),
        name="api-training-evaluator-score",
    ),
    path(
        "evaluators/<int:artifact_id>/score-project/",
        researcher_api.ProjectScoreApi.as_view(),
        name="api-training-evaluator-score-project",
    ),
    path("alignments/", researcher_api.AlignmentStartApi.as_view(), name="api-training-alignments"),
]
