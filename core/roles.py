"""Who may use what: one role check for pages (``role_required``) and one for the API (``HasRole``).

Every view and API route names its roles with one of these. Admins hold every role.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from core.models import User

PARTICIPANT = User.Role.PARTICIPANT
RESEARCHER = User.Role.RESEARCHER
ADMIN = User.Role.ADMIN


def user_has_role(user, *roles: str) -> bool:
    """Return whether ``user`` is signed in and holds one of ``roles``."""
    return bool(user and user.is_authenticated and user.has_role(*roles))


def role_required(*roles: str) -> Callable:
    """Decorate a page view so only users holding one of ``roles`` reach it.

    Anyone else (anonymous, or signed in with another role) is sent to the login page, never shown
    data; a researcher who signs in there comes back to the page.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not user_has_role(request.user, *roles):
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorator


class HasRole(BasePermission):
    """DRF permission: signed in and holding one of ``roles`` (subclass and set ``roles``)."""

    roles: tuple[str, ...] = ()
    message = "Your role may not use this."

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, *self.roles)


class IsParticipant(HasRole):
    roles = (PARTICIPANT,)


class IsResearcher(HasRole):
    roles = (RESEARCHER,)


class IsAdmin(HasRole):
    roles = (ADMIN,)


class IsAnyRole(HasRole):
    """Any signed-in user with a role: participants, researchers and admins."""

    roles = (PARTICIPANT, RESEARCHER, ADMIN)
