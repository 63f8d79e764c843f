import factory

from accounts.models import Customer, Role, User

PASSWORD = "Corr3ct-horse-battery"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    slug = factory.Sequence(lambda n: f"customer-{n}")
    contact_name = "Pat Contact"
    contact_email = factory.LazyAttribute(lambda c: f"it@{c.slug}.example")


class UserFactory(factory.django.DjangoModelFactory):
    """A portal user; the password is PASSWORD unless given."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    customer = factory.SubFactory(CustomerFactory)
    role = Role.USER

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    customer = None
    role = ""
    is_staff = True
