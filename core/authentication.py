"""API authentication: DRF's token scheme, read in one plain query.

Scripts and simulated crowds send ``Authorization: Token <key>`` on every request of the annotate
loop; DRF's own class builds an ORM query for it each time, which cost about as much as the work
the request does. Same header, same answers (401 "Invalid token." / "User inactive or deleted.").
"""

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from core.db import fetch_one
from core.models import User
from core.throttling import TokenFailureGuard

# The user whose token this is (the key is the token table's primary key).
USER_QUERY = """
SELECT {columns} FROM {user}
WHERE id = (SELECT user_id FROM {token} WHERE key = %s)
"""


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's ``TokenAuthentication``.

    Failed attempts are counted per IP; past the ``token_failure`` rate the IP gets 429.
    """

    def authenticate(self, request):
        if not request.META.get("HTTP_AUTHORIZATION"):
            return None
        guard = TokenFailureGuard(request)
        guard.check()
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            guard.record_failure()
            raise

    def authenticate_credentials(self, key):
        fields = User._meta.concrete_fields
        quote = connection.ops.quote_name
        sql = USER_QUERY.format(
            columns=", ".join(quote(field.column) for field in fields),
            user=quote(User._meta.db_table),
            token=quote(Token._meta.db_table),
        )
        row = fetch_one(sql, [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = User.from_db(connection.alias, [field.attname for field in fields], row)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
