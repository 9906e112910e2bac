"""REST API of the moral graph for voters: the next story to judge, and the vote.

Researchers' endpoints are in ``researcher_api``. No logic here."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import IsAnyRole
from core.selectors import task_order_check
from elicitation.models import Deliberation
from elicitation.selectors import card_as_contract
from moralgraph.models import Vote
from moralgraph.selectors import (
    story_for_vote,
    votes_by_voter,
)
from moralgraph.services import story_show_next, vote_submit
from moralgraph.study_tasks import KIND as VOTE_TASK


class VoteSubmitApi(APIView):
    """Participants of a study with this voting task, in an open deliberation: answer "is ``to``
    wiser than ``from`` here?" for a story shown to them (again to change the answer). Name the
    ``story``, or the pair and context of one shown. 403 names why a vote is refused; a
    researcher's vote is a preview (200, ``"stored": false``)."""

    permission_classes = [IsAnyRole]

    class InputSerializer(serializers.Serializer):
        story = serializers.IntegerField(required=False, allow_null=True)
        from_card = serializers.IntegerField(required=False)
        to_card = serializers.IntegerField(required=False)
        context = serializers.IntegerField(required=False)
        choice = serializers.ChoiceField(choices=Vote.Choice.choices)
        comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Vote
            fields = ["id", "from_card", "to_card", "context", "story", "choice", "comment"]

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        vote, created = vote_submit(
            voter=request.user,
            deliberation=deliberation,
            story=story_for_vote(
                voter=request.user,
                deliberation=deliberation,
                story_id=values.get("story"),
                from_card_id=values.get("from_card"),
                to_card_id=values.get("to_card"),
                context_id=values.get("context"),
            ),
            choice=values["choice"],
            comment=values.get("comment", ""),
        )
        if vote.pk is None:  # a researcher's preview: checked, not stored
            body = self.OutputSerializer(vote).data | {
                "stored": False,
                "detail": "Preview: votes of researchers are not stored.",
            }
            return Response(body, status=status.HTTP_200_OK)
        return Response(
            self.OutputSerializer(vote).data | {"stored": True},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class NextStoryApi(APIView):
    """Anyone signed in: the next story to judge (recorded as shown); 204 when none is left."""

    permission_classes = [IsAnyRole]

    @extend_schema(responses={200: dict, 204: None, 409: None})
    def get(self, request, name: str):
        deliberation = get_object_or_404(Deliberation, name=name)
        # Tasks are taken in order (409 naming the task the participant is on).
        task_order_check(user=request.user, kind=VOTE_TASK, target=deliberation.name)
        story = story_show_next(voter=request.user, deliberation=deliberation)
        if story is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            {
                "story": {
                    "id": story.pk,
                    "text": story.story,
                    "context": {"id": story.context_id, "text": story.context.text},
                    "from_card": card_as_contract(story.from_card),
                    "to_card": card_as_contract(story.to_card),
                },
                "judged": votes_by_voter(voter=request.user, deliberation=deliberation),
            }
        )
