from django.urls import path

from elicitation import researcher_views, views

app_name = "elicitation"

urlpatterns = [
    # Participants: the interview.
    path("", views.scenarios, name="scenarios"),
    path("scenarios/<int:scenario_id>/start/", views.chat_begin, name="chat_begin"),
    path("chats/<int:chat_id>/", views.chat_page, name="chat"),
    path("chats/<int:chat_id>/stream/", views.chat_stream, name="chat_stream"),
    path("chats/<int:chat_id>/card/", views.card_update, name="card_update"),
    path("chats/<int:chat_id>/card/write/", views.card_write, name="card_write"),
    path("chats/<int:chat_id>/card/approve/", views.card_approve_view, name="card_approve"),
    # Researchers: deliberations, contexts, de-duplication, transcripts.
    path(
        "researcher/",
        researcher_views.deliberation_list,
        name="researcher_deliberations",
    ),
    path(
        "researcher/d/<slug:name>/",
        researcher_views.deliberation_detail,
        name="researcher_deliberation",
    ),
    path(
        "researcher/d/<slug:name>/scenarios/",
        researcher_views.scenario_add,
        name="researcher_scenario_add",
    ),
    path(
        "researcher/d/<slug:name>/contexts/",
        researcher_views.context_add,
        name="researcher_context_add",
    ),
    path(
        "researcher/d/<slug:name>/study/",
        researcher_views.study_include,
        name="researcher_study_include",
    ),
    path(
        "researcher/scenarios/<int:scenario_id>/propose-contexts/",
        researcher_views.contexts_generate,
        name="researcher_contexts_generate",
    ),
    path(
        "researcher/proposals/<int:proposal_id>/decide/",
        researcher_views.proposal_decide,
        name="researcher_proposal_decide",
    ),
    path(
        "researcher/d/<slug:name>/clusters/",
        researcher_views.clusters,
        name="researcher_clusters",
    ),
    path(
        "researcher/d/<slug:name>/dedup/",
        researcher_views.dedup_start_view,
        name="researcher_dedup",
    ),
    path(
        "researcher/cards/<int:card_id>/split/",
        researcher_views.card_split_view,
        name="researcher_card_split",
    ),
    path(
        "researcher/cards/<int:card_id>/merge/",
        researcher_views.card_merge_view,
        name="researcher_card_merge",
    ),
    path(
        "researcher/d/<slug:name>/chats/",
        researcher_views.transcripts,
        name="researcher_transcripts",
    ),
    path(
        "researcher/chats/<int:chat_id>/",
        researcher_views.transcript,
        name="researcher_transcript",
    ),
    path(
        "researcher/d/<slug:name>/grades/",
        researcher_views.grades,
        name="researcher_grades",
    ),
]
