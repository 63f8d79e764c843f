from django.db import migrations


def add_default_categories(apps, schema_editor):
    """Customers made before categories existed get the provisioning category every new
    customer starts with."""
    Customer = apps.get_model("accounts", "Customer")
    Category = apps.get_model("provisioning", "Category")
    have = set(Category.objects.values_list("customer_id", flat=True))
    Category.objects.bulk_create(
        Category(customer=customer, name="Phones", is_provisioning=True)
        for customer in Customer.objects.exclude(pk__in=have)
    )


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0002_phones")]

    operations = [migrations.RunPython(add_default_categories, migrations.RunPython.noop)]
