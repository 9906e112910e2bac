from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("elicitation/", include("elicitation.urls")),
    path("annotation/", include("annotation.urls")),
    path("moralgraph/", include("moralgraph.urls")),
    path("training/", include("training.urls")),
]
