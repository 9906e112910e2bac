"""Pages of training, mounted under /training/ (each view names its roles)."""

from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("targets/", views.target_list, name="targets"),
    path("targets/<int:target_id>/", views.target_detail, name="target"),
    path("pvq/", views.pvq_page, name="pvq"),
]
