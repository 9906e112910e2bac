"""OpenAPI schema generation that understands nested Input/Output serializers."""

from drf_spectacular.openapi import AutoSchema


class ValueLabAutoSchema(AutoSchema):
    """Name a nested serializer after its view: ``MeApi.OutputSerializer`` → ``MeApiOutput``.

    Every API view nests its own ``InputSerializer``/``OutputSerializer`` (HackSoft's style), so
    the bare class names collide in the schema.
    """

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = serializer.__class__.__qualname__
        return (
            qualname.replace(".", "")
            if "." in qualname
            else super().get_serializer_name(serializer, direction)
        )
