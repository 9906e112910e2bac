"""Pages of training, mounted under /training/ (each view names its roles)."""

from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("targets/", views.target_list, name="targets"),
    path("targets/<int:target_id>/", views.target_detail, name="target"),
    path("pvq/", views.pvq_page, name="pvq"),
    path("models/", views.model_list, name="models"),
    path("models/<int:artifact_id>/", views.model_detail, name="model"),
    path("train/", views.train_page, name="train"),
    path("align/", views.align_page, name="align"),
    path("score/", views.score_page, name="score"),
    path("dpo/", views.dpo_page, name="dpo"),
    path("dpo/<uuid:job_id>/download/", views.dpo_download, name="dpo_download"),
    path("runs/<uuid:job_id>/", views.run_page, name="run"),
]
