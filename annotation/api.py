"""REST API of the annotation app for crowdworkers: the annotate loop (next item, submit, lease).

Each view names its roles; researchers' endpoints are in ``researcher_api``.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.leases import lease_heartbeat, lease_release
from annotation.loop import next_for_worker, submit_for_worker
from annotation.models import Item
from core.roles import IsParticipant

# --- The annotate loop ---------------------------------------------------------------------------


class LeasedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    prompt = serializers.CharField()
    response = serializers.CharField()
    prelabel = serializers.DictField(allow_null=True)
    dimensions = serializers.ListField(child=serializers.CharField())
    lease_expires = serializers.DateTimeField()


class NextItemApi(APIView):
    """Participants: lease the next item to label in a project (contracts: the annotate loop).

    200 ``{"item": {…}}`` leased to the caller; 200 ``{"item": null, "retry_after": s}`` when
    every slot left is leased by someone else; 204 when nothing is left for the caller.
    """

    permission_classes = [IsParticipant]

    class OutputSerializer(serializers.Serializer):
        item = LeasedItemSerializer(allow_null=True)
        retry_after = serializers.IntegerField(required=False)

    @extend_schema(responses={200: OutputSerializer, 204: None, 409: None})
    def get(self, request, project_id: int):
        # 409 on a first item before the study's earlier tasks are done (tasks are in order).
        answer = next_for_worker(project_id=project_id, worker=request.user)
        if answer.item is not None:
            return Response({"item": answer.item})
        if answer.retry_after is not None:
            response = Response({"item": None, "retry_after": answer.retry_after})
            response["Retry-After"] = str(answer.retry_after)
            return response
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationSubmitApi(APIView):
    """Participants: submit labels for every dimension of an item leased to them.

    201 with the annotation; 200 when the same worker already submitted it (nothing new is
    stored); 400 naming the bad field; 403 for an item not leased to the caller.
    """

    permission_classes = [IsParticipant]

    class InputSerializer(serializers.Serializer):
        labels = serializers.JSONField()
        seconds = serializers.FloatField(required=False, allow_null=True, min_value=0)
        project = serializers.IntegerField(required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        labels = serializers.DictField(child=serializers.IntegerField())
        saw_prelabel = serializers.BooleanField()
        prelabel_kept = serializers.DictField(allow_null=True)
        seconds = serializers.FloatField()
        created = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request, item_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = submit_for_worker(
            item_id=item_id,
            worker=request.user,
            labels=data["labels"],
            seconds=data.get("seconds"),
            project_id=data.get("project"),
        )
        body = self.OutputSerializer(result.annotation).data
        if result.outcome is not None:
            body["feedback"] = result.outcome.feedback
            body["worker_state"] = result.outcome.state
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


class LeaseSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    lease_expires = serializers.DateTimeField()


class LeaseHeartbeatApi(APIView):
    """Participants: extend their lease on an item while its page is open (409 once lost)."""

    permission_classes = [IsParticipant]

    @extend_schema(request=None, responses={200: LeaseSerializer})
    def post(self, request, item_id: int):
        item = get_object_or_404(Item.objects.select_related("project"), pk=item_id)
        slot = lease_heartbeat(item=item, worker=request.user)
        return Response(LeaseSerializer(slot).data)


class LeaseReleaseApi(APIView):
    """Participants: give an item back unlabelled (it returns to the pool). Idempotent."""

    permission_classes = [IsParticipant]

    class OutputSerializer(serializers.Serializer):
        released = serializers.BooleanField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, item_id: int):
        item = get_object_or_404(Item, pk=item_id)
        return Response({"released": lease_release(item=item, worker=request.user)})
