"""Pages of training, mounted under /training/ (each view names its roles)."""

from django.urls import path

from training import researcher_views, views

app_name = "training"

urlpatterns = [
    path("targets/", researcher_views.target_list, name="targets"),
    path("targets/<int:target_id>/", views.target_detail, name="target"),
    path("pvq/", views.pvq_page, name="pvq"),
    path("models/", researcher_views.model_list, name="models"),
    path("models/<int:artifact_id>/", researcher_views.model_detail, name="model"),
    path("train/", researcher_views.train_page, name="train"),
    path("align/", researcher_views.align_page, name="align"),
    path("score/", researcher_views.score_page, name="score"),
    path("dpo/", researcher_views.dpo_page, name="dpo"),
    path("dpo/<uuid:job_id>/download/", researcher_views.dpo_download, name="dpo_download"),
    path("runs/<uuid:job_id>/", researcher_views.run_page, name="run"),
]
