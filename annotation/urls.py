"""Pages of this app, mounted under /annotation/ (each view names its roles)."""

from django.urls import path

from annotation import researcher_views, views

app_name = "annotation"

urlpatterns = [
    path("projects/", researcher_views.project_list, name="projects"),
    path("projects/<slug:slug>/", researcher_views.project_detail, name="project"),
    path("projects/<slug:slug>/prelabel/", researcher_views.prelabel_panel, name="prelabel_panel"),
    path(
        "projects/<slug:slug>/dashboard/",
        researcher_views.project_dashboard_page,
        name="dashboard",
    ),
    path("projects/<slug:slug>/review/", researcher_views.review_queue_page, name="review"),
    path("projects/<slug:slug>/workers/", researcher_views.project_workers, name="workers"),
    path(  # <path:>: a pseudonym is data and may hold any character
        "projects/<slug:slug>/workers/<path:pseudonym>/exclude/",
        researcher_views.project_worker_exclude,
        name="worker_exclude",
    ),
    path(
        "projects/<slug:slug>/review/<int:item_id>/",
        researcher_views.review_item_page,
        name="review_item",
    ),
    path("work/<int:project_id>/", views.work, name="work"),
    path("work/<int:project_id>/preview/", views.work_preview, name="work_preview"),
    path("work/<int:project_id>/items/<int:item_id>/", views.work_submit, name="work_submit"),
    path("work/<int:project_id>/items/<int:item_id>/pause/", views.work_pause, name="work_pause"),
]
