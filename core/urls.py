from django.urls import path

from core import researcher_views, views

app_name = "core"

urlpatterns = [
    path("join/<slug:slug>/", views.join, name="join"),
    path("study/<slug:slug>/", views.study_page, name="study"),
    path("study/<slug:slug>/consent/<int:task_id>/", views.consent, name="consent"),
    path("researcher/", researcher_views.researcher_home, name="researcher_home"),
    path("researcher/studies/new/", researcher_views.study_new, name="study_new"),
    path(
        "researcher/studies/<slug:slug>/",
        researcher_views.researcher_study,
        name="researcher_study",
    ),
    path("researcher/studies/<slug:slug>/edit/", researcher_views.study_edit, name="study_edit"),
    path("researcher/llm-check/", researcher_views.llm_check_start, name="llm_check"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel_view, name="job_cancel"),
]
