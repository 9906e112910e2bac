"""Factories for core's models (factory_boy)."""

import factory

from core.models import Participation, Study, StudyTask, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.PARTICIPANT
    password = factory.django.Password("correct horse battery staple")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.Sequence(lambda n: f"Study {n}")
    completion_code = "C0MPLETE"


class StudyTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudyTask

    study = factory.SubFactory(StudyFactory)
    kind = "consent"
    title = "Consent"
    instructions = "You agree that your answers are stored under a pseudonym."
    position = factory.Sequence(int)


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    study = factory.SubFactory(StudyFactory)
    user = factory.SubFactory(UserFactory)
