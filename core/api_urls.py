from django.urls import path

from core import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-core-me"),
    path("studies/", api.StudyListCreateApi.as_view(), name="api-core-studies"),
    path("studies/<slug:slug>/tasks/", api.StudyTasksApi.as_view(), name="api-core-study-tasks"),
    path("jobs/<uuid:job_id>/", api.JobDetailApi.as_view(), name="api-core-job"),
    path("jobs/<uuid:job_id>/cancel/", api.JobCancelApi.as_view(), name="api-core-job-cancel"),
    path("llm-check/", api.LLMCheckStartApi.as_view(), name="api-core-llm-check"),
]
