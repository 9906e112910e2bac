"""REST routes of training, mounted under /api/training/ (each view names its roles)."""

from django.urls import path

from training import api

urlpatterns = [
    path("evaluators/", api.EvaluatorListCreateApi.as_view(), name="api-training-evaluators"),
    path(
        "evaluators/<int:artifact_id>/score/",
        api.EvaluatorScoreApi.as_view(),
        name="api-training-evaluator-score",
    ),
    path(
        "evaluators/<int:artifact_id>/score-project/",
        api.ProjectScoreApi.as_view(),
        name="api-training-evaluator-score-project",
    ),
    path("alignments/", api.AlignmentStartApi.as_view(), name="api-training-alignments"),
]
