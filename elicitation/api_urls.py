"""REST routes of this app, mounted under /api/<app>/ (each view names its roles)."""

from django.urls import path

from elicitation import api

urlpatterns = [
    path("deliberations/", api.DeliberationListApi.as_view(), name="api-deliberations"),
    path("scenarios/", api.ScenarioListApi.as_view(), name="api-scenarios"),
    path("contexts/", api.ContextListApi.as_view(), name="api-contexts"),
    path("chats/", api.ChatListCreateApi.as_view(), name="api-chats"),
    path("chats/<int:chat_id>/", api.ChatDetailApi.as_view(), name="api-chat"),
    path("chats/<int:chat_id>/messages/", api.ChatMessageApi.as_view(), name="api-chat-messages"),
    path("chats/<int:chat_id>/card/", api.ChatCardApi.as_view(), name="api-chat-card"),
    path(
        "chats/<int:chat_id>/card/write/",
        api.ChatCardWriteApi.as_view(),
        name="api-chat-card-write",
    ),
    path(
        "chats/<int:chat_id>/card/approve/",
        api.ChatCardApproveApi.as_view(),
        name="api-chat-card-approve",
    ),
]
