"""Factories for elicitation's models (factory_boy)."""

import factory

from elicitation.models import Deliberation, MoralContext, Scenario, ValuesCard


class DeliberationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deliberation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"delib-{n}")
    title = factory.Sequence(lambda n: f"Deliberation {n}")


class ScenarioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scenario

    deliberation = factory.SubFactory(DeliberationFactory)
    question = factory.Sequence(lambda n: f"What should I do about thing {n}?")


class MoralContextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MoralContext

    deliberation = factory.SubFactory(DeliberationFactory)
    text = factory.Sequence(lambda n: f"When in situation {n}")


class ValuesCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValuesCard

    deliberation = factory.SubFactory(DeliberationFactory)
    title = factory.Sequence(lambda n: f"Value {n}")
    description = "Help the person see what matters to them."
    policies = factory.LazyFunction(lambda: ["MOMENTS when the person lights up"])
