"""``core.db.fetch_one``: hand-written statements, prepared on PostgreSQL, still Django's."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import fetch_one
from core.models import User

pytestmark = pytest.mark.django_db

NAME_OF = "SELECT username FROM {table} WHERE id = %s"
ADD_USER = """
INSERT INTO {table} (username, password, is_superuser, is_staff, is_active, first_name,
                     last_name, email, date_joined, role, pseudonym)
VALUES (%s, '', false, false, true, '', '', '', CURRENT_TIMESTAMP, 'participant', 'p-x')
RETURNING id
"""


def test_it_returns_the_first_row_or_none_and_shows_in_the_query_log(db):
    user = User.objects.create(username="row")
    table = connection.ops.quote_name(User._meta.db_table)

    with CaptureQueriesContext(connection) as queries:
        for _ in range(6):  # prepared after the first run on PostgreSQL; same answers
            found = fetch_one(NAME_OF.format(table=table), [user.pk])
        missing = fetch_one(NAME_OF.format(table=table), [user.pk + 1])

    assert found == ("row",) and missing is None
    assert len(queries) == 7


def test_a_broken_constraint_is_djangos_integrity_error_and_the_transaction_goes_on(db):
    User.objects.create(username="taken")
    table = connection.ops.quote_name(User._meta.db_table)

    with pytest.raises(IntegrityError), transaction.atomic():
        fetch_one(ADD_USER.format(table=table), ["taken"])

    assert User.objects.filter(username="taken").count() == 1
