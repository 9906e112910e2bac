"""REST API of the interview: deliberations, scenarios, contexts, chats and their cards.

The routes in contracts.md "The interview" are fixed; everything else here only adds to them.
Participants see open deliberations only, and only their own chats (anyone else's is a 403).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValueLabError
from core.roles import RESEARCHER, IsAnyRole, IsParticipant, user_has_role
from core.selectors import task_order_check
from elicitation.models import Chat, Deliberation
from elicitation.selectors import (
    card_for_author,
    chat_as_contract,
    chat_of_participant,
    chats_of_participant,
    contexts_of,
    deliberations_open,
    scenarios_open,
)
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.cards import card_approve, card_edit
from elicitation.services.interviews import chat_reply, chat_start, message_post
from elicitation.streaming import answer_later, turn_view
from elicitation.study_tasks import KIND as STUDY_TASK_KIND


class CardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    policies = serializers.ListField(child=serializers.CharField())
    scenario = serializers.IntegerField(allow_null=True)
    context = serializers.IntegerField(allow_null=True)
    author = serializers.CharField(allow_null=True)
    canonical_id = serializers.IntegerField()
    style_hints = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="Wording rules the card breaks, by field (title, description, policies.<n>): "
        "hints for its author, never errors.",
    )
    revision = serializers.IntegerField(
        required=False,
        help_text="Goes up each time the card's wording is stored; send it back with an edit.",
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=["user", "assistant"])
    text = serializers.CharField()
    created = serializers.DateTimeField()


class ChatSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scenario = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Chat.State.choices)
    prompt = serializers.DictField(child=serializers.CharField())
    messages = MessageSerializer(many=True)
    card = CardSerializer(allow_null=True)
    notice = serializers.CharField(allow_null=True)


def _deliberations_for(user):
    # Researchers see every deliberation; participants only those open for interviews.
    return Deliberation.objects.all() if user_has_role(user, RESEARCHER) else deliberations_open()


def _deliberation_filter(request) -> Deliberation | None:
    name = request.query_params.get("deliberation")
    if not name:
        return None
    return get_object_or_404(_deliberations_for(request.user), name=name)


def _get_chat_for_user(request, chat_id: int) -> Chat:
    """Return the caller's own chat; anyone else's is a 404 like a missing one (no probing)."""
    return chat_of_participant(participant=request.user, chat_id=chat_id)


class TurnApiView(APIView):
    """An API view whose answer needs the LLM: under ASGI the LLM part runs in a turn slot
    (``elicitation.streaming``), so a slow LLM keeps no server thread busy while it waits."""

    @classmethod
    def as_view(cls, **initkwargs):
        return turn_view(super().as_view(**initkwargs))

    def answer_later(self, request, work):
        """Return ``work()``'s response; under ASGI it is made later, in a turn slot (errors
        answered as DRF answers them, the response finished as ``dispatch`` finishes it)."""

        def finish():
            try:
                response = work()
            except Exception as exc:  # noqa: BLE001 (DRF's exception handler decides)
                response = self.handle_exception(exc)
            return self.finalize_response(request, response, *self.args, **self.kwargs)

        return answer_later(request, work, deferred=finish)


class DeliberationListApi(APIView):
    """Any signed-in user: deliberations (participants: those open for interviews)."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Deliberation
            fields = ["id", "name", "title", "welcome_text", "is_open", "created"]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        deliberations = _deliberations_for(request.user)
        return Response(self.OutputSerializer(deliberations, many=True).data)


class ScenarioListApi(APIView):
    """Any signed-in user: the scenarios open to the caller (``?deliberation=name`` filters)."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        question = serializers.CharField()
        title = serializers.CharField()
        seed_message = serializers.CharField()
        deliberation = serializers.CharField(source="deliberation.name")

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        scenarios = scenarios_open(deliberation=_deliberation_filter(request))
        return Response(self.OutputSerializer(scenarios, many=True).data)


class ContextListApi(APIView):
    """Any signed-in user: the moral contexts of open deliberations (``?deliberation=name``)."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        text = serializers.CharField()
        deliberation = serializers.CharField(source="deliberation.name")

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        contexts = contexts_of(deliberation=_deliberation_filter(request)).filter(
            deliberation__in=_deliberations_for(request.user)
        )
        return Response(self.OutputSerializer(contexts, many=True).data)


class ChatListCreateApi(APIView):
    """Participants: their own chats, or start one about a scenario (201 with its messages)."""

    throttle_scope = "llm"  # core.throttling.LLMThrottle

    permission_classes = [IsParticipant]

    class InputSerializer(serializers.Serializer):
        scenario = serializers.IntegerField()
        client_key = serializers.CharField(required=False, allow_blank=True, max_length=64)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        scenario = serializers.IntegerField(source="scenario_id")
        state = serializers.CharField()
        card = serializers.IntegerField(source="card_id", allow_null=True)
        created = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        chats = chats_of_participant(participant=request.user)
        return Response(self.OutputSerializer(chats, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ChatSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scenario = scenarios_open().filter(pk=serializer.validated_data["scenario"]).first()
        if scenario is None:
            raise ValueLabError("There is no open scenario with this id.", field="scenario")
        # Tasks are taken in order (409 naming the task the participant is on).
        task_order_check(user=request.user, kind=STUDY_TASK_KIND, target=scenario.deliberation.name)
        chat = chat_start(
            participant=request.user,
            scenario=scenario,
            client_key=serializer.validated_data.get("client_key", ""),
        )
        return Response(chat_as_contract(chat=chat), status=status.HTTP_201_CREATED)


class ChatDetailApi(APIView):
    """Participants: one of their chats, with its messages, state and card."""

    permission_classes = [IsParticipant]

    @extend_schema(responses=ChatSerializer)
    def get(self, request, chat_id: int):
        return Response(chat_as_contract(chat=_get_chat_for_user(request, chat_id)))


class ChatMessageApi(TurnApiView):
    """Participants: post a message to their chat and wait for the whole reply.

    200 ``{"reply", "card"}`` (plus ``state`` and ``notice``). The message is stored before the
    LLM is asked; an LLM failure answers with its status (429 over budget, 503/504 outage) and
    the message stays, to be answered by the next post (or a post with no text).
    """

    throttle_scope = "llm"  # core.throttling.LLMThrottle

    permission_classes = [IsParticipant]

    class InputSerializer(serializers.Serializer):
        # Length is checked by the service, so the limit message is the same everywhere.
        text = serializers.CharField(
            required=False, allow_blank=True, trim_whitespace=False, max_length=None
        )
        client_id = serializers.CharField(required=False, allow_blank=True, max_length=64)

    class OutputSerializer(serializers.Serializer):
        reply = serializers.CharField(allow_null=True)
        card = CardSerializer(allow_null=True)
        state = serializers.CharField()
        notice = serializers.CharField(allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, chat_id: int):
        chat = _get_chat_for_user(request, chat_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "text" in serializer.validated_data:
            message_post(
                chat=chat,
                text=serializer.validated_data["text"],
                client_id=serializer.validated_data.get("client_id", ""),
            )
        return self.answer_later(request, lambda: self._reply(chat))

    def _reply(self, chat: Chat) -> Response:
        reply, card, failure = chat_reply(chat=chat)
        chat.refresh_from_db()
        if failure is not None and reply is None:
            error = ValueLabError(failure.text)
            error.status_code = failure.error.status_code if failure.error else 502
            raise error
        if reply is None:  # nothing was waiting: the last reply, as it was stored
            last = chat.messages.filter(role="assistant").order_by("-pk").first()
            reply = last
        card = card or chat.card
        data = {
            "reply": reply.text if reply else None,
            "card": card_for_author(card) if card and chat.state != "failed" else None,
            "state": chat.state,
            "notice": chat.last_error or None,
        }
        return Response(self.OutputSerializer(data).data)


class ChatCardApi(APIView):
    """Participants: their own wording for the card: replaces the proposed card, or creates it
    when none was written (400 names each bad field; style problems come back as hints).

    With ``revision`` (the card's, as read; 0 when there was none) an edit made on a card that
    has changed since is a 409 on ``revision`` and nothing is stored; without it, the edit
    replaces whatever is there (as before the field existed)."""

    permission_classes = [IsParticipant]

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(allow_blank=True, trim_whitespace=False)
        description = serializers.CharField(allow_blank=True, trim_whitespace=False)
        policies = serializers.ListField(child=serializers.CharField(allow_blank=True))
        revision = serializers.IntegerField(required=False, min_value=0)

    @extend_schema(request=InputSerializer, responses={200: CardSerializer, 409: None})
    def put(self, request, chat_id: int):
        chat = _get_chat_for_user(request, chat_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = card_edit(chat=chat, **serializer.validated_data)
        return Response(card_for_author(card))


class ChatCardWriteApi(TurnApiView):
    """Participants: ask for the card now, or again after it could not be written."""

    throttle_scope = "llm"  # core.throttling.LLMThrottle

    permission_classes = [IsParticipant]

    @extend_schema(request=None, responses=CardSerializer)
    def post(self, request, chat_id: int):
        chat = _get_chat_for_user(request, chat_id)
        return self.answer_later(request, lambda: self._write(chat))

    def _write(self, chat: Chat) -> Response:
        for event in chat_card_write(chat=chat):
            if event.kind == "error":
                error = ValueLabError(event.text, field="card")
                error.status_code = (
                    event.error.status_code
                    if event.error and event.error.outcome != "invalid"
                    else 502
                )
                raise error
            if event.kind == "card":
                return Response(card_for_author(event.card))
        raise ValueLabError("No card was written.", field="card")


class ChatCardApproveApi(APIView):
    """Participants: approve their proposed card (approving twice returns the same card)."""

    permission_classes = [IsParticipant]

    @extend_schema(request=None, responses=CardSerializer)
    def post(self, request, chat_id: int):
        chat = _get_chat_for_user(request, chat_id)
        return Response(card_for_author(card_approve(chat=chat)))
