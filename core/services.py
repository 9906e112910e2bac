"""Writes and workflows of core: users, studies, joining from Prolific, task completion."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.models import (
    Participation,
    Study,
    StudyTask,
    TaskCompletion,
    User,
    ValueDimension,
    ValueScheme,
)
from core.study_tasks import TASK_TYPES, task_type_choices

PROLIFIC_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{24}$")
OTHER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def user_create(
    *, username: str, role: str, password: str | None = None, email: str = ""
) -> tuple[User, Token]:
    """Create a user with ``role`` and return it with its API token."""
    if role not in User.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; use one of {User.Role.values}."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named {username!r} already exists."})
    user = User(username=username, role=role, email=email)
    user.is_staff = role == User.Role.ADMIN
    user.is_superuser = role == User.Role.ADMIN
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    token, _ = Token.objects.get_or_create(user=user)
    return user, token


def _tasks_checked(tasks: list[dict], *, errors: dict[str, list[str]]) -> list[dict]:
    """Return ``tasks`` checked by their task types; add each one's errors to ``errors`` under
    ``tasks[i].field`` (``tasks[i]`` for a task of the wrong shape)."""
    cleaned = []
    for index, spec in enumerate(tasks):
        try:
            cleaned.append(study_task_check(**spec))
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"tasks[{index}].{field}"] = messages
        except TypeError:
            errors[f"tasks[{index}]"] = ["must have kind, title and config only"]
    return cleaned


def study_create(
    *,
    slug: str,
    title: str,
    completion_code: str,
    created_by: User | None,
    description: str = "",
    tasks: list[dict] | None = None,
) -> Study:
    """Create a study with its tasks (``[{"kind", "title", "instructions"?, "config"?}]``, in
    the order participants take them).

    Every task is checked before anything is stored: a bad one raises ``ValidationError`` with
    ``tasks[i].<field>`` (``tasks[2].config.project``), and no study is created.
    """
    study = Study(
        slug=slug,
        title=title,
        completion_code=completion_code,
        description=description,
        created_by=created_by,
    )
    errors: dict[str, list[str]] = {}
    try:
        study.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    cleaned = _tasks_checked(tasks or [], errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        study.save()
        for position, spec in enumerate(cleaned):
            study_task_add(study=study, position=position, **spec)
    return study


def study_task_check(
    *, kind: str, title: str = "", instructions: str = "", config: dict | None = None
) -> dict:
    """Return a task's spec with its config cleaned by its task type; raise ``ValidationError``
    naming ``kind``, ``title`` or ``config.<field>``."""
    task_type = TASK_TYPES.get(kind)
    if task_type is None or not task_type.is_installed():
        installed = ", ".join(kind for kind, _ in task_type_choices())
        raise ValidationError({"kind": f"Unknown task type {kind!r}; use one of: {installed}."})
    if config is not None and not isinstance(config, dict):
        raise ValidationError({"config": "must be an object"})
    config = dict(config or {})
    if task_type.clean_config is not None:
        try:
            config = task_type.clean_config(config)
        except ValidationError as error:
            raise ValidationError(
                {f"config.{field}": messages for field, messages in error.message_dict.items()}
            ) from None
    title = (title or "").strip() or task_type.label
    return {"kind": kind, "title": title, "instructions": instructions or "", "config": config}


def study_task_add(
    *,
    study: Study,
    kind: str,
    title: str,
    instructions: str = "",
    config: dict | None = None,
    position: int | None = None,
) -> StudyTask:
    """Add a task of a registered type to ``study`` (its config checked by its task type)."""
    spec = study_task_check(kind=kind, title=title, instructions=instructions, config=config)
    if position is None:
        position = study.tasks.count()
    task = StudyTask(study=study, position=position, **spec)
    task.full_clean()
    task.save()
    return task


TASKS_FIXED = "Participants have joined this study, so its tasks can no longer change."


def study_update(
    *,
    study: Study,
    tasks: list[dict],
    title: str | None = None,
    description: str | None = None,
    completion_code: str | None = None,
) -> Study:
    """Change ``study``'s title, description or completion code (those given) and replace its
    tasks with ``tasks`` (as in ``study_create``, in the order participants take them).

    Only until the first participant arrives: after that raise ``ValidationError`` on ``tasks``
    and change nothing. A bad task raises ``tasks[i].<field>`` and nothing is changed either.
    """
    changes = {
        name: value
        for name, value in (
            ("title", title),
            ("description", description),
            ("completion_code", completion_code),
        )
        if value is not None
    }
    errors: dict[str, list[str]] = {}
    candidate = Study(**{**_study_fields(study), **changes})
    try:
        candidate.full_clean(exclude=["slug"], validate_unique=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    cleaned = _tasks_checked(tasks, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The same lock participant_join takes: a join and an edit never interleave.
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.participations.exists():
            raise ValidationError({"tasks": TASKS_FIXED})
        if changes:
            Study.objects.filter(pk=locked.pk).update(**changes)
            for name, value in changes.items():
                setattr(study, name, value)
        locked.tasks.all().delete()
        for position, spec in enumerate(cleaned):
            StudyTask.objects.create(study=locked, position=position, **spec)
    return study


def _study_fields(study: Study) -> dict:
    return {
        "slug": study.slug,
        "title": study.title,
        "description": study.description,
        "completion_code": study.completion_code,
    }


def study_tasks_editable(*, study: Study) -> bool:
    """Return whether ``study``'s tasks may still change (nobody has joined it yet)."""
    return not study.participations.exists()


def _check_ids(prolific_pid: str | None, study_id: str, session_id: str) -> str:
    pid = (prolific_pid or "").strip()
    if not pid:
        raise ValidationError(
            {"PROLIFIC_PID": "This link has no Prolific participant id (PROLIFIC_PID)."}
        )
    if not PROLIFIC_ID_PATTERN.match(pid):
        raise ValidationError(
            {
                "PROLIFIC_PID": "This link's Prolific participant id is not valid: "
                "it should be 24 letters and digits."
            }
        )
    for name, value in (("STUDY_ID", study_id), ("SESSION_ID", session_id)):
        if value and not OTHER_ID_PATTERN.match(value):
            raise ValidationError({name: f"This link's {name} is not valid."})
    return pid


def participant_join(
    *,
    study: Study,
    prolific_pid: str | None,
    study_id: str = "",
    session_id: str = "",
    signed_in: User | None = None,
) -> Participation:
    """Return the participation of the Prolific participant ``prolific_pid`` in ``study``.

    Creates the participant and the participation on their first visit; a return visit (the
    same PID) resumes them and never creates a second user or participation, also when two
    requests race. Resuming needs the browser's session (``signed_in`` is that participant) or
    the same PID *and* Prolific ``SESSION_ID``: a PID alone is not a credential. A returning
    participant may resume after the study closed; only new participants are refused then.
    """
    pid = _check_ids(prolific_pid, study_id, session_id)
    existing = (
        Participation.objects.select_related("user")
        .filter(study=study, user__prolific_pid=pid)
        .first()
    )
    if existing is not None:
        return _participation_resume(existing, session_id=session_id, signed_in=signed_in)
    if not study.is_open:
        raise ValidationError({"study": "This study is closed and accepts no new participants."})
    user = _participant_for_pid(pid)
    if user.role != User.Role.PARTICIPANT:
        raise ValidationError({"PROLIFIC_PID": "This id belongs to a staff account."})
    try:
        with transaction.atomic():
            # Taken by study_update too: a researcher's edit of the tasks never interleaves.
            list(Study.objects.select_for_update().filter(pk=study.pk).values_list("pk"))
            participation, created = Participation.objects.get_or_create(
                study=study,
                user=user,
                defaults={"prolific_study_id": study_id, "prolific_session_id": session_id},
            )
    except IntegrityError:
        participation, created = Participation.objects.get(study=study, user=user), False
    if not created:
        return _participation_resume(participation, session_id=session_id, signed_in=signed_in)
    return participation


def _participation_resume(
    participation: Participation, *, session_id: str, signed_in: User | None
) -> Participation:
    """Return ``participation`` to a returning participant, or refuse one who cannot prove it."""
    own_browser = signed_in is not None and signed_in.pk == participation.user_id
    stored = participation.prolific_session_id
    if not own_browser and stored and session_id != stored:
        raise ValidationError(
            {
                "SESSION_ID": "This Prolific participant is already taking part in another "
                "Prolific session. Open the study from Prolific in the browser where you started."
            }
        )
    if session_id and stored != session_id:
        Participation.objects.filter(pk=participation.pk).update(
            prolific_session_id=session_id, last_seen=timezone.now()
        )
        participation.prolific_session_id = session_id
    return participation


def _participant_for_pid(pid: str) -> User:
    user = User.objects.filter(prolific_pid=pid).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = User(username=f"prolific-{pid}", prolific_pid=pid, role=User.Role.PARTICIPANT)
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:  # a concurrent first visit created them
        return User.objects.get(prolific_pid=pid)


def task_complete(*, participation: Participation, task: StudyTask) -> bool:
    """Record that the participant finished ``task``; return whether the whole study is done.

    Safe to call twice (a double click stores one completion).
    """
    if task.study_id != participation.study_id:
        raise ValidationError({"task": "This task belongs to another study."})
    TaskCompletion.objects.get_or_create(participation=participation, task=task)
    return participation_refresh_completion(participation=participation)


def participation_refresh_completion(*, participation: Participation) -> bool:
    """Mark the participation completed when every task is done; return whether it is."""
    from core.selectors import participation_task_states

    states = participation_task_states(participation=participation)
    if states and all(state.settled for state in states):
        Participation.objects.filter(pk=participation.pk, completed__isnull=True).update(
            completed=timezone.now()
        )
        participation.refresh_from_db(fields=["completed"])
        return True
    return participation.completed is not None


def completion_url(*, study: Study) -> str:
    """Return the URL that tells Prolific the participant finished ``study``."""
    return settings.PROLIFIC_COMPLETION_URL.format(code=study.completion_code)


# --- Value schemes ------------------------------------------------------------------------------


def scheme_import(*, data: object) -> ValueScheme:
    """Create a value scheme and its dimensions from an uploaded JSON document.

    The shape: ``{"key", "name", "description"?, "dimensions": [{"key", "name", "definition",
    "examples"?: [str]}, ...]}``, dimensions in scheme order. Raise ``ValidationError`` naming
    each bad field (``dimensions[2].key``) and store nothing then.
    """
    if not isinstance(data, dict):
        raise ValidationError({"scheme": ["must be a JSON object with key, name and dimensions"]})
    errors: dict[str, list[str]] = {}
    scheme = ValueScheme(
        key=data.get("key") or "",
        name=data.get("name") or "",
        description=data.get("description") or "",
    )
    try:
        scheme.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    raw_dimensions = data.get("dimensions")
    dimensions: list[ValueDimension] = []
    if not isinstance(raw_dimensions, list) or not raw_dimensions:
        errors["dimensions"] = ["must be a non-empty list of {key, name, definition}"]
        raw_dimensions = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_dimensions):
        prefix = f"dimensions[{position}]"
        if not isinstance(raw, dict):
            errors[prefix] = ["must be an object with key, name and definition"]
            continue
        examples = raw.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            errors[f"{prefix}.examples"] = ["must be a list of texts"]
            examples = []
        dimension = ValueDimension(
            key=raw.get("key") or "",
            name=raw.get("name") or "",
            definition=raw.get("definition") or "",
            examples=examples,
            position=position,
        )
        try:
            dimension.full_clean(exclude=["scheme"], validate_constraints=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[f"{prefix}.{name}"] = messages
        if dimension.key in seen:
            errors[f"{prefix}.key"] = [f"{dimension.key!r} appears twice"]
        seen.add(dimension.key)
        dimensions.append(dimension)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        scheme.save()
        for dimension in dimensions:
            dimension.scheme = scheme
        ValueDimension.objects.bulk_create(dimensions)
    return scheme
