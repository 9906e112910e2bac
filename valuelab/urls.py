"""URLs: pages per app, the REST API under /api/ (schema at /api/schema/), health, admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from core import views as core_views

api_patterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path("", include("core.api_urls")),
    path("elicitation/", include("elicitation.api_urls")),
    path("annotation/", include("annotation.api_urls")),
    path("moralgraph/", include("moralgraph.api_urls")),
    path("training/", include("training.api_urls")),
    path("evaluation/", include("evaluation.api_urls")),
]


class FaviconView(RedirectView):
    """Anyone: /favicon.ico, asked for by browsers and feed readers, is the static icon."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.ico")


handler404 = core_views.page_not_found

urlpatterns = [
    path("", core_views.home, name="home"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("core.urls")),
    path("elicitation/", include("elicitation.urls")),
    path("annotation/", include("annotation.urls")),
    path("moralgraph/", include("moralgraph.urls")),
    path("training/", include("training.urls")),
    path("evaluation/", include("evaluation.urls")),
]
