"""REST routes of this app, mounted under /api/<app>/ (each view names its roles)."""

from django.urls import path

from moralgraph import api, researcher_api

# ``str`` rather than ``slug``: tests/core/test_api.py walks the URLconf and requests each route
# with its placeholders left in ("<str:name>"), expecting 401/403 rather than 404.
urlpatterns = [
    path(
        "deliberations/<str:name>/graph/",
        researcher_api.GraphApi.as_view(),
        name="api-moralgraph-graph",
    ),
    path(
        "deliberations/<str:name>/preferences/",
        researcher_api.PreferencesApi.as_view(),
        name="api-moralgraph-preferences",
    ),
    path(
        "deliberations/<str:name>/votes/",
        api.VoteSubmitApi.as_view(),
        name="api-moralgraph-vote",
    ),
    path(
        "deliberations/<str:name>/next/",
        api.NextStoryApi.as_view(),
        name="api-moralgraph-next-story",
    ),
    path(
        "deliberations/<str:name>/stories/generate/",
        researcher_api.StoriesGenerateApi.as_view(),
        name="api-moralgraph-stories-generate",
    ),
    path(
        "deliberations/<str:name>/contexts/<int:context_id>/explorer/",
        researcher_api.ExplorerContextApi.as_view(),
        name="api-moralgraph-explorer",
    ),
    path(
        "deliberations/<str:name>/contexts/<int:context_id>/values/<int:card_id>/",
        researcher_api.ValueDetailApi.as_view(),
        name="api-moralgraph-value",
    ),
    path(
        "deliberations/<str:name>/contexts/<int:context_id>/pairs/<int:from_id>/<int:to_id>/",
        researcher_api.PairDetailApi.as_view(),
        name="api-moralgraph-pair",
    ),
]
