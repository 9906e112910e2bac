from django.urls import path

from moralgraph import researcher_views, views

app_name = "moralgraph"

urlpatterns = [
    path("", researcher_views.deliberation_list, name="deliberations"),
    path("<slug:name>/", researcher_views.deliberation_detail, name="deliberation"),
    path(
        "<slug:name>/stories/generate/", researcher_views.stories_generate, name="stories_generate"
    ),
    path("<slug:name>/recompute/", researcher_views.scores_recompute, name="recompute"),
    path("<slug:name>/explorer/", researcher_views.explorer, name="explorer"),
    path("<slug:name>/vote/", views.vote, name="vote"),
    path("<slug:name>/mine/", views.mine, name="mine"),
]
