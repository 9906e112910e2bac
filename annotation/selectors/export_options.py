"""The export's options read from a query string or a command's options."""

from datetime import UTC, datetime, time

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime

TRUE_WORDS = ("1", "true", "yes", "on")


def export_filters(params) -> dict:
    """Return the export options in ``params`` (a query dict or a command's options).

    ``complete_only``, ``labelled_only`` and ``adjudicated_only`` are flags; ``since`` and
    ``until`` are ISO dates or date-times (UTC when no zone is given; ``until`` is exclusive, so
    ``until=2026-11-25`` keeps annotations made on the 24th). Raise ``ValidationError`` naming
    the bad field.
    """

    def flag(name: str) -> bool:
        value = params.get(name)
        return value is True or str(value or "").strip().lower() in TRUE_WORDS

    def moment(name: str):
        text = str(params.get(name) or "").strip()
        if not text:
            return None
        try:
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                parsed = datetime.combine(day, time.min) if day else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError({name: f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time"})
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    options = {
        "complete_only": flag("complete_only"),
        "adjudicated_only": flag("adjudicated_only"),
        "labelled_only": flag("labelled_only"),
        "since": moment("since"),
        "until": moment("until"),
    }
    if options["since"] and options["until"] and options["since"] >= options["until"]:
        raise ValidationError({"until": "must be after since"})
    return options
