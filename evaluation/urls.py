"""Pages of evaluation, mounted under /evaluation/ (each view names its roles)."""

from django.urls import path

from evaluation import researcher_views

app_name = "evaluation"

urlpatterns = [
    path("", researcher_views.home, name="home"),
    path("runs/<int:run_id>/", researcher_views.run_page, name="run"),
    path("runs/<int:run_id>/cancel/", researcher_views.run_cancel_view, name="run_cancel"),
    path("runs/<int:run_id>/resume/", researcher_views.run_resume_view, name="run_resume"),
    path("runs/<int:run_id>/human-check/", researcher_views.human_check_view, name="human_check"),
    path("runs/<int:run_id>/responses/", researcher_views.responses_page, name="responses"),
    path("runs/<int:run_id>/responses.jsonl", researcher_views.run_export_jsonl, name="run_export"),
    path("compare/", researcher_views.compare_page, name="compare"),
    path("evolve/", researcher_views.evolve_page, name="evolve"),
    path("evolve/<uuid:job_id>/cancel/", researcher_views.evolve_cancel_view, name="evolve_cancel"),
    path("leaderboard/", researcher_views.leaderboard_page, name="leaderboard"),
    path("profiles.csv", researcher_views.profiles_export_csv, name="profiles_export"),
]
