"""Pages of evaluation, mounted under /evaluation/ (each view names its roles)."""

from django.urls import path

from evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/cancel/", views.run_cancel_view, name="run_cancel"),
    path("runs/<int:run_id>/resume/", views.run_resume_view, name="run_resume"),
    path("runs/<int:run_id>/human-check/", views.human_check_view, name="human_check"),
    path("runs/<int:run_id>/responses/", views.responses_page, name="responses"),
    path("runs/<int:run_id>/responses.jsonl", views.run_export_jsonl, name="run_export"),
    path("compare/", views.compare_page, name="compare"),
    path("evolve/", views.evolve_page, name="evolve"),
    path("evolve/<uuid:job_id>/cancel/", views.evolve_cancel_view, name="evolve_cancel"),
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("profiles.csv", views.profiles_export_csv, name="profiles_export"),
]
