"""The desk-phone models, taken over from the provisioning app with their tables as they
are: the state is recorded here, the database is not touched (db_table, constraint and
index names are the ones provisioning made). Their content types move along, so admin
history and permissions keep pointing at them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = [
    "autoprovisioning",
    "autoprovisioningkey",
    "category",
    "configjob",
    "jobdelivery",
    "knownnetwork",
    "provisioningcode",
    "rollout",
    "softwarejob",
]


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).delete()
        else:
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_move(apps, schema_editor):
    _relabel(apps, "provisioning", "phones")


def content_types_back(apps, schema_editor):
    _relabel(apps, "phones", "provisioning")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0007_customer_time_zone"),
        ("devices", "0004_desk_phone_fields"),
        ("provisioning", "0008_phone_models_move_to_phones"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Category",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=64)),
                        (
                            "is_provisioning",
                            models.BooleanField(
                                default=True,
                                help_text="Offered when a phone is added, in rollouts and for automatic provisioning.",
                                verbose_name="provisioning category",
                            ),
                        ),
                        ("description", models.CharField(blank=True, max_length=255)),
                        ("version", models.PositiveIntegerField(default=1)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        (
                            "bootstrap",
                            models.ForeignKey(
                                blank=True,
                                help_text="The configuration phones of this category receive.",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="categories",
                                to="provisioning.bootstrap",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "categories",
                        "db_table": "provisioning_category",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="ConfigJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("config_type", models.CharField(max_length=64)),
                        ("parameters", models.JSONField(default=dict)),
                        ("description", models.CharField(blank=True, max_length=255)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "category",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="config_jobs",
                                to="phones.category",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_configjob",
                        "ordering": ["-created", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="KnownNetwork",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("network", models.CharField(max_length=49)),
                        ("last_seen", models.DateTimeField()),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_knownnetwork",
                    },
                ),
                migrations.CreateModel(
                    name="Rollout",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "app_id",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("WFC_VOICE_ANDROID", "Zebra Voice (Android)"),
                                    (
                                        "WFC_CENTRAL_SERVICE_ANDROID",
                                        "Zebra Central Service (Android)",
                                    ),
                                    ("WFC_PRO_ANDROID", "PTT Pro (Android)"),
                                    ("WFC_PC_ANDROID", "Profile Client (Android)"),
                                    ("WFC_PRO_IOS", "PTT Pro (iOS)"),
                                ],
                                max_length=40,
                                verbose_name="phone app",
                            ),
                        ),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "category",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="rollouts",
                                to="phones.category",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_rollout",
                        "ordering": ["-created", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="ProvisioningCode",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("code", models.CharField(max_length=12)),
                        ("expires_at", models.DateTimeField()),
                        ("used_at", models.DateTimeField(blank=True, null=True)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "category",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="codes",
                                to="phones.category",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                        (
                            "device",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="devices.device",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "rollout",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="codes",
                                to="phones.rollout",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_provisioningcode",
                        "ordering": ["-created", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="SoftwareJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "firmware",
                            models.JSONField(
                                help_text="The firmware description, e.g. version and URL."
                            ),
                        ),
                        ("description", models.CharField(blank=True, max_length=255)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "category",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="software_jobs",
                                to="phones.category",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_softwarejob",
                        "ordering": ["-created", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="JobDelivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("delivered_at", models.DateTimeField()),
                        (
                            "config_job",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="phones.configjob",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                        (
                            "device",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="job_deliveries",
                                to="devices.device",
                            ),
                        ),
                        (
                            "software_job",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="phones.softwarejob",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_jobdelivery",
                        "ordering": ["-delivered_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="AutoProvisioning",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("enabled", models.BooleanField(default=False)),
                        ("token_hash", models.CharField(blank=True, max_length=128)),
                        (
                            "token_hint",
                            models.CharField(
                                blank=True,
                                help_text="The token's last characters, to recognise it.",
                                max_length=8,
                            ),
                        ),
                        ("token_set_at", models.DateTimeField(blank=True, null=True)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_autoprovisioning",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("customer",), name="provisioning_autoprovisioning_one"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AutoProvisioningKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("purpose", models.CharField(max_length=64)),
                        ("token_hash", models.CharField(max_length=128)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="accounts.customer"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "provisioning_autoprovisioningkey",
                        "indexes": [
                            models.Index(fields=["token_hash"], name="provisioning_autokey_hash")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("customer", "purpose"),
                                name="provisioning_autoprovisioningkey_one_per_purpose",
                            )
                        ],
                    },
                ),
                migrations.AddConstraint(
                    model_name="category",
                    constraint=models.UniqueConstraint(
                        fields=("customer", "name"), name="provisioning_category_unique_name"
                    ),
                ),
                migrations.AddIndex(
                    model_name="configjob",
                    index=models.Index(
                        fields=["category", "config_type", "-created", "-id"],
                        name="provisioning_cfgjob_latest",
                    ),
                ),
                migrations.AddIndex(
                    model_name="knownnetwork",
                    index=models.Index(
                        fields=["network", "last_seen"], name="provisioning_net_seen"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="knownnetwork",
                    constraint=models.UniqueConstraint(
                        fields=("customer", "network"), name="provisioning_knownnetwork_unique"
                    ),
                ),
                migrations.AddIndex(
                    model_name="provisioningcode",
                    index=models.Index(fields=["expires_at"], name="provisioning_code_expiry"),
                ),
                migrations.AddIndex(
                    model_name="provisioningcode",
                    index=models.Index(fields=["rollout", "id"], name="provisioning_code_rollout"),
                ),
                migrations.AddConstraint(
                    model_name="provisioningcode",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("used_at__isnull", True)),
                        fields=("code",),
                        name="provisioning_provisioningcode_unique_unused",
                    ),
                ),
                migrations.AddIndex(
                    model_name="softwarejob",
                    index=models.Index(
                        fields=["category", "-created", "-id"], name="provisioning_swjob_latest"
                    ),
                ),
                migrations.AddIndex(
                    model_name="jobdelivery",
                    index=models.Index(
                        fields=["device", "-delivered_at"], name="provisioning_jobs_device"
                    ),
                ),
            ],
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
