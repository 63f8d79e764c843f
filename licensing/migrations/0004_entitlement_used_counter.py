from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_live_licenses(apps, schema_editor):
    """Start each line's counter from its live assignments."""
    Entitlement = apps.get_model("licensing", "Entitlement")
    Assignment = apps.get_model("licensing", "Assignment")
    live = (
        Assignment.objects.filter(entitlement=OuterRef("pk"), released_at__isnull=True)
        .order_by()
        .values("entitlement")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Entitlement.objects.update(used=Coalesce(Subquery(live), 0))


class Migration(migrations.Migration):
    dependencies = [("licensing", "0003_guide_feature_names")]

    operations = [
        migrations.AddField(
            model_name="entitlement",
            name="used",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_live_licenses, migrations.RunPython.noop),
    ]
