from django.db import migrations, models
from django.db.models.functions import Greatest


def zero_allowed_stays_refused(apps, schema_editor):
    """A token stored with 0 allowed redemptions (only possible outside the services,
    which take 1 to 2147483647) was refused to every device as used up: it stays used up,
    now as 1 allowed and at least 1 counted."""
    Token = apps.get_model("provisioning", "Token")
    Token.objects.filter(max_redemptions=0).update(
        max_redemptions=1, redemption_count=Greatest("redemption_count", 1)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_customer_time_zone"),
        ("provisioning", "0006_known_networks"),
    ]

    operations = [
        migrations.RunPython(zero_allowed_stays_refused, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="token",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_redemptions__isnull", True), ("max_redemptions__gte", 1), _connector="OR"
                ),
                name="provisioning_token_max_redemptions_positive",
            ),
        ),
    ]
