"""Factories for the annotation app's models (factory_boy); projects use the seeded schwartz10."""

import importlib

import factory
from django.apps import apps

from annotation.models import Annotation, Item, Prelabel, Project
from core.models import ValueScheme
from tests.factories import UserFactory

SCHWARTZ10 = [
    "self_direction",
    "stimulation",
    "hedonism",
    "achievement",
    "power",
    "security",
    "conformity",
    "tradition",
    "benevolence",
    "universalism",
]


def labels(**given: int) -> dict[str, int]:
    """Return a full schwartz10 label dict: the given labels, 0 elsewhere."""
    return {key: given.get(key, 0) for key in SCHWARTZ10}


def schwartz10_scheme() -> ValueScheme:
    """Return the seeded schwartz10 scheme, seeding it again if a flushing test wiped it.

    A ``transaction=True`` test empties every table when it ends, the migration's seed included,
    and pytest-django's serialized rollback does not always bring it back for the next one.
    """
    scheme = ValueScheme.objects.filter(key="schwartz10").first()
    if scheme is None:
        importlib.import_module("annotation.migrations.0002_seed_schwartz10").seed(apps, None)
        scheme = ValueScheme.objects.get(key="schwartz10")
    return scheme


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    scheme = factory.LazyFunction(schwartz10_scheme)
    overlap = 3


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"item-{n}")
    prompt = factory.Sequence(lambda n: f"Question number {n}?")
    response = "An answer."
    source = "model-a"


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    item = factory.SubFactory(ItemFactory)
    annotator = factory.SubFactory(UserFactory)
    labels = factory.LazyFunction(labels)
    saw_prelabel = False
    seconds = 12.5


class PrelabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prelabel

    item = factory.SubFactory(ItemFactory)
    labels = factory.LazyFunction(lambda: labels(benevolence=1))
    rationale = "The answer is kind."
    model = "test-model"
    prompt_version = "v1"
