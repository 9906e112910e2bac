"""REST routes of this app, mounted under /api/<app>/ (each view names its roles)."""

from django.urls import path

from moralgraph import api

# ``str`` rather than ``slug``: tests/core/test_api.py walks the URLconf and requests each route
# with its placeholders left in ("<str:name>"), expecting 401/403 rather than 404.
urlpatterns = [
    path("deliberations/<str:name>/graph/", api.GraphApi.as_view(), name="moralgraph-api-graph"),
    path(
        "deliberations/<str:name>/preferences/",
        api.PreferencesApi.as_view(),
        name="moralgraph-api-preferences",
    ),
    path(
        "deliberations/<str:name>/votes/",
        api.VoteCastApi.as_view(),
        name="moralgraph-api-vote-cast",
    ),
]
