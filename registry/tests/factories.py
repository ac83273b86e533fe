"""Test factories. They write rows directly (no audit) and are for arranging tests only."""
import factory

from registry.access import HospitalRole
from registry.models import Hospital, HospitalMembership, User


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"H{n:03d}")
    name_zh = factory.Sequence(lambda n: f"测试医院{n}")
    name_en = factory.Sequence(lambda n: f"Test Hospital {n}")
    province = "Beijing"
    city = "Beijing"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HospitalMembership

    user = factory.SubFactory(UserFactory)
    hospital = factory.SubFactory(HospitalFactory)
    role = HospitalRole.COORDINATOR
