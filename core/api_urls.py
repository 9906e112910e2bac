from django.urls import path

from core import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("studies/", api.StudyListCreateApi.as_view(), name="api-studies"),
    path("studies/<slug:slug>/tasks/", api.StudyTasksApi.as_view(), name="api-study-tasks"),
    path("jobs/<uuid:job_id>/", api.JobDetailApi.as_view(), name="api-job"),
    path("jobs/<uuid:job_id>/cancel/", api.JobCancelApi.as_view(), name="api-job-cancel"),
    path("llm-check/", api.LLMCheckStartApi.as_view(), name="api-llm-check"),
]
