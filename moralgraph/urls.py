from django.urls import path

from moralgraph import views

app_name = "moralgraph"

urlpatterns = [
    path("", views.deliberation_list, name="deliberations"),
    path("<slug:name>/", views.deliberation_detail, name="deliberation"),
    path("<slug:name>/stories/generate/", views.stories_generate, name="stories_generate"),
    path("<slug:name>/recompute/", views.scores_recompute, name="recompute"),
    path("<slug:name>/explorer/", views.explorer, name="explorer"),
    path("<slug:name>/vote/", views.vote, name="vote"),
    path("<slug:name>/mine/", views.mine, name="mine"),
]
