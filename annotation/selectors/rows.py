"""Raw rows: a queryset's SQL run on a plain cursor, for the reads that stream many rows."""

from django.db.models import QuerySet


def raw_rows(queryset: QuerySet, cursor):
    """Run the queryset's SQL on ``cursor`` and return the cursor."""
    # Django's per-row converters (json.loads of every label dict, datetime parsing, each row
    # rebuilt) cost most of an export's time; the writer decodes what it needs, once.
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    cursor.execute(sql, params)
    return cursor
