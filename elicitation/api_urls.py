"""REST routes of this app, mounted under /api/<app>/ (each view names its roles)."""

from django.urls import path

from elicitation import api, researcher_api

urlpatterns = [
    path("deliberations/", api.DeliberationListApi.as_view(), name="api-elicitation-deliberations"),
    path("scenarios/", api.ScenarioListApi.as_view(), name="api-elicitation-scenarios"),
    path("contexts/", api.ContextListApi.as_view(), name="api-elicitation-contexts"),
    path("chats/", api.ChatListCreateApi.as_view(), name="api-elicitation-chats"),
    path("chats/<int:chat_id>/", api.ChatDetailApi.as_view(), name="api-elicitation-chat"),
    path(
        "chats/<int:chat_id>/messages/",
        api.ChatMessageApi.as_view(),
        name="api-elicitation-chat-messages",
    ),
    path("chats/<int:chat_id>/card/", api.ChatCardApi.as_view(), name="api-elicitation-chat-card"),
    path(
        "chats/<int:chat_id>/card/write/",
        api.ChatCardWriteApi.as_view(),
        name="api-elicitation-chat-card-write",
    ),
    path(
        "chats/<int:chat_id>/card/approve/",
        api.ChatCardApproveApi.as_view(),
        name="api-elicitation-chat-card-approve",
    ),
    # Researchers: deliberations, contexts, de-duplication, interview grades.
    path(
        "researcher/deliberations/",
        researcher_api.DeliberationCreateApi.as_view(),
        name="api-elicitation-researcher-deliberations",
    ),
    path(
        "researcher/deliberations/<slug:name>/scenarios/",
        researcher_api.ScenarioCreateApi.as_view(),
        name="api-elicitation-researcher-scenarios",
    ),
    path(
        "researcher/deliberations/<slug:name>/contexts/",
        researcher_api.ContextCreateApi.as_view(),
        name="api-elicitation-researcher-contexts",
    ),
    path(
        "researcher/scenarios/<int:scenario_id>/propose-contexts/",
        researcher_api.ContextProposeApi.as_view(),
        name="api-elicitation-researcher-propose-contexts",
    ),
    path(
        "researcher/deliberations/<slug:name>/context-proposals/",
        researcher_api.ContextProposalListApi.as_view(),
        name="api-elicitation-researcher-context-proposals",
    ),
    path(
        "researcher/context-proposals/<int:proposal_id>/decide/",
        researcher_api.ContextProposalDecideApi.as_view(),
        name="api-elicitation-researcher-context-proposal-decide",
    ),
    path(
        "researcher/deliberations/<slug:name>/dedup/",
        researcher_api.DedupStartApi.as_view(),
        name="api-elicitation-researcher-dedup",
    ),
    path(
        "researcher/deliberations/<slug:name>/clusters/",
        researcher_api.ClusterListApi.as_view(),
        name="api-elicitation-researcher-clusters",
    ),
    path(
        "researcher/deliberations/<slug:name>/dedup-decisions/",
        researcher_api.DecisionListApi.as_view(),
        name="api-elicitation-researcher-dedup-decisions",
    ),
    path(
        "researcher/cards/<int:card_id>/split/",
        researcher_api.CardSplitApi.as_view(),
        name="api-elicitation-researcher-card-split",
    ),
    path(
        "researcher/cards/<int:card_id>/merge/",
        researcher_api.CardMergeApi.as_view(),
        name="api-elicitation-researcher-card-merge",
    ),
    path(
        "researcher/deliberations/<slug:name>/grading/",
        researcher_api.GradingStartApi.as_view(),
        name="api-elicitation-researcher-grading",
    ),
    path(
        "researcher/deliberations/<slug:name>/grades/",
        researcher_api.GradesApi.as_view(),
        name="api-elicitation-researcher-grades",
    ),
]
