"""One application error type, and the DRF handler turning errors into 400/403/404."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ValueLabError(Exception):
    """An error a user can act on; its message is shown to them as it is."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def validation_error_detail(error: ValidationError) -> dict:
    """Return ``{"field": ["message", ...]}`` for a Django ``ValidationError``."""
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"detail": error.messages if len(error.messages) > 1 else error.messages[0]}


def api_exception_handler(exc, context):
    """Map Django's and ValueLab's errors to DRF responses, then let DRF do the rest."""
    if isinstance(exc, ValidationError):
        return Response(validation_error_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValueLabError):
        body = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        return Response(body, status=exc.status_code)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    return exception_handler(exc, context)
