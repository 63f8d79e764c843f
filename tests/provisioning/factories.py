"""Bootstraps and tokens for tests. They write rows directly; tests of the rules call
provisioning.services instead."""

import factory

from provisioning.models import Bootstrap, Token
from reports.models import AppId
from tests.factories import CustomerFactory


class BootstrapFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bootstrap

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Bootstrap-{n:03}")
    parameters = factory.LazyAttribute(lambda b: {"site": b.name.lower()})


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    customer = factory.SubFactory(CustomerFactory)
    value = factory.Sequence(lambda n: f"token-{n:04}")
    app_id = AppId.VOICE
    bootstrap = factory.SubFactory(BootstrapFactory, customer=factory.SelfAttribute("..customer"))
    description = ""
