"""The demo data of core; each app adds its own by being called from ``seed_demo``."""

from rest_framework.authtoken.models import Token

from core.models import Participation, Study, StudyTask, User
from core.services import study_create

DEMO_USERS = [
    ("researcher", "researcher", User.Role.RESEARCHER),
    ("admin", "admin", User.Role.ADMIN),
]
DEMO_PARTICIPANTS = ["5f1a2b3c4d5e6f708192a3b4", "5f1a2b3c4d5e6f708192a3b5"]
DEMO_STUDY = "demo"


def seed_demo() -> list[str]:
    """Create the demo users and study if missing; return lines saying what exists."""
    lines = []
    for username, password, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "is_staff": role == User.Role.ADMIN,
                "is_superuser": role == User.Role.ADMIN,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        Token.objects.get_or_create(user=user)
        lines.append(f"{'created' if created else 'kept'} {role} {username} / {password}")
    researcher = User.objects.get(username="researcher")
    study = Study.objects.filter(slug=DEMO_STUDY).first()
    if study is None:
        study = study_create(
            slug=DEMO_STUDY,
            title="ValueLab demo study",
            description="A short demo: agree to take part, then work through the tasks.",
            completion_code="DEMO2026",
            created_by=researcher,
            tasks=[
                {
                    "kind": "consent",
                    "title": "Consent",
                    "instructions": "This is a demo. Your answers are stored under a pseudonym.",
                }
            ],
        )
        lines.append(f"created study {study.slug}")
    else:
        lines.append(f"kept study {study.slug}")
    for pid in DEMO_PARTICIPANTS:
        user, _ = User.objects.get_or_create(
            prolific_pid=pid,
            defaults={"username": f"prolific-{pid}", "role": User.Role.PARTICIPANT},
        )
        Participation.objects.get_or_create(study=study, user=user)
    lines.append(f"participants: {', '.join(DEMO_PARTICIPANTS)}")
    lines.append(f"join as a participant: /join/{DEMO_STUDY}/?PROLIFIC_PID={DEMO_PARTICIPANTS[0]}")
    return lines


def demo_study_task_add(
    *, kind: str, title: str, instructions: str, order: int, config: dict
) -> bool:
    """Give the demo study an app's task once (placed ``order`` after the tasks it has then);
    return whether it was added. Without the demo study, nothing happens."""
    study = Study.objects.filter(slug=DEMO_STUDY).first()
    if study is None or study.tasks.filter(kind=kind).exists():
        return False
    StudyTask.objects.create(
        study=study,
        kind=kind,
        title=title,
        instructions=instructions,
        position=study.tasks.count() + order,
        config=config,
    )
    return True
