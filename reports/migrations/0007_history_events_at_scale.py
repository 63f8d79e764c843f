"""History and Events at millions of rows: an index for every sort and filter the pages and
the API offer, the area each event is about (the role rule), the user filter's table.

Non-atomic on purpose. On PostgreSQL each index is built with CREATE INDEX CONCURRENTLY
(and the old ones dropped the same way): a plain CREATE INDEX would block every device
request's History insert for the minutes a build takes at millions of rows. Such a build
cannot run in a transaction. If one fails (a deadlock, a cancel), PostgreSQL leaves an
INVALID index of that name: drop it (`DROP INDEX CONCURRENTLY name`) and migrate again.
Events get their area in batches of primary keys, each committed on its own, so no
long transaction holds the table. SQLite builds everything plainly.

Search (token or device ID contains, an event's info contains) uses trigram indexes on
PostgreSQL. They need the pg_trgm extension (in contrib; a trusted extension since
PostgreSQL 13, so the database owner may create it). Where it cannot be created the
migration says so and goes on: search still works, by reading more rows.
"""

import logging

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

log = logging.getLogger(__name__)

AREA_BATCH = 10_000

# reports.models.EVENT_AREAS as it was when this migration was written.
AREAS = {
    "users": "USER_ADDED USER_UPDATED USER_ROLE_CHANGED USER_DELETED PASSWORD_RESET_REQUESTED "
    "PASSWORD_RESET_COMPLETED",
    "ztp": "ZTP_ONBOARD ZTP_ROTATE ZTP_DISABLE ZTP_CHECK ZTP_REGISTER ZTP_UNREGISTER ZTP_LOOKUP "
    "ZTP_IMPORT ZTP_REKEY",
    "tokens": "TOKEN_ADDED TOKEN_UPDATED TOKEN_DELETED CATALOG_IMPORTED",
    "bootstraps": "BOOTSTRAP_ADDED BOOTSTRAP_UPDATED BOOTSTRAP_DELETED",
    "devices": "DEVICE_ADDED_DIRECTLY DEVICE_UPDATED DEVICE_OBSOLETED",
    "sites": "SITE_SYNC SITE_SWEEP SITE_PROVISIONING_FAILED SITE_PROVISIONING_RETRY",
    "licenses": "NO_LICENSE_AVAILABLE LICENSE_RELEASE LICENSE_EXPIRY LICENSE_EXPIRY_NOTICE "
    "LICENSE_SYNC_GET LICENSE_SYNC LICENSE_SYNC_REQUESTED ROLLUP_LICENSES",
    "provisioning": "CATEGORY_ADDED CATEGORY_UPDATED CATEGORY_DELETED SOFTWARE_JOB_ADDED "
    "CONFIG_JOB_ADDED JOB_DELETED ROLLOUT_CREATED AUTO_PROVISIONING_TOKEN_SET "
    "AUTO_PROVISIONING_DISABLED",
    "phones": "CODE_ISSUED CODE_REVOKED CODES_EXPIRED",
}

# (name, table, column) of each trigram index: what the searches read.
TRIGRAM_INDEXES = [
    ("reports_hist_token_trgm", "reports_history", "token"),
    ("reports_hist_device_trgm", "reports_history", "device_id"),
    ("reports_event_info_trgm", "reports_event", "info"),
]


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """AddIndex, built with CREATE INDEX CONCURRENTLY on PostgreSQL (writes go on)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class RemoveIndexConcurrentlyOnPostgres(migrations.RemoveIndex):
    """RemoveIndex, dropped with DROP INDEX CONCURRENTLY on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, concurrently=True)


def set_event_areas(apps, schema_editor):
    Event = apps.get_model("reports", "Event")
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    whens = [
        models.When(type__in=types.split(), then=models.Value(area))
        for area, types in AREAS.items()
    ]
    # Each batch commits on its own (the migration is not atomic).
    for start in range(0, last + 1, AREA_BATCH):
        Event.objects.filter(pk__gte=start, pk__lt=start + AREA_BATCH, area="").update(
            area=models.Case(*whens, default=models.Value(""))
        )


def fill_event_actors(apps, schema_editor):
    Event = apps.get_model("reports", "Event")
    EventActor = apps.get_model("reports", "EventActor")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    # Once, at the upgrade: who already appears in each customer's log, and its users.
    pairs = set(
        Event.objects.exclude(customer=None)
        .exclude(username="")
        .values_list("customer_id", "username")
        .distinct()
    )
    pairs |= set(User.objects.exclude(customer=None).values_list("customer_id", "username"))
    EventActor.objects.bulk_create(
        [EventActor(customer_id=customer, username=name) for customer, name in pairs],
        batch_size=1000,
        ignore_conflicts=True,
    )


def add_trigram_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # no privilege, or contrib not installed
            log.warning("pg_trgm unavailable (%s): History and Events search unindexed", exc)
            return
        for name, table, column in TRIGRAM_INDEXES:
            # The expression Django's icontains compares: UPPER("column"::text).
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "  # noqa: S608
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in TRIGRAM_INDEXES:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0005_user_password_changed_at"),
        ("reports", "0006_rollups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EventActor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("username", models.CharField(max_length=150)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.customer",
                    ),
                ),
            ],
            options={
                "ordering": ["username"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "username"), name="reports_eventactor_once"
                    )
                ],
            },
        ),
        # A constant default: PostgreSQL adds the column without rewriting the table.
        migrations.AddField(
            model_name="event",
            name="area",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AlterField(
            model_name="event",
            name="type",
            field=models.CharField(
                choices=[
                    ("USER_ADDED", "Portal user added"),
                    ("USER_UPDATED", "Portal user changed"),
                    ("USER_ROLE_CHANGED", "Portal user's role changed"),
                    ("USER_DELETED", "Portal user deleted"),
                    ("PASSWORD_RESET_REQUESTED", "Password reset requested"),
                    ("PASSWORD_RESET_COMPLETED", "Password reset completed"),
                    ("STAFF_ACTING", "Support acting for the customer"),
                    ("TOKEN_ADDED", "Token added"),
                    ("TOKEN_UPDATED", "Token changed"),
                    ("TOKEN_DELETED", "Token deleted"),
                    ("CATALOG_IMPORTED", "Bootstraps and tokens imported"),
                    ("BOOTSTRAP_ADDED", "Bootstrap added"),
                    ("BOOTSTRAP_UPDATED", "Bootstrap changed"),
                    ("BOOTSTRAP_DELETED", "Bootstrap deleted"),
                    ("DEVICE_ADDED_DIRECTLY", "Device added directly"),
                    ("DEVICE_UPDATED", "Device changed"),
                    ("DEVICE_OBSOLETED", "Device marked obsolete"),
                    ("SITE_SYNC", "Sites synced"),
                    ("SITE_SWEEP", "Inactive devices removed from sites"),
                    ("SITE_PROVISIONING_FAILED", "Site provisioning failed"),
                    ("SITE_PROVISIONING_RETRY", "Site provisioning queued again"),
                    ("NO_LICENSE_AVAILABLE", "No license available"),
                    ("LICENSE_RELEASE", "Standard licenses released"),
                    ("LICENSE_EXPIRY", "Entitlements expired"),
                    ("LICENSE_EXPIRY_NOTICE", "Entitlement expiry notice"),
                    ("LICENSE_SYNC_GET", "Entitlement check"),
                    ("LICENSE_SYNC", "Entitlement sync"),
                    ("LICENSE_SYNC_REQUESTED", "Entitlement sync requested"),
                    ("CATEGORY_ADDED", "Category added"),
                    ("CATEGORY_UPDATED", "Category changed"),
                    ("CATEGORY_DELETED", "Category deleted"),
                    ("SOFTWARE_JOB_ADDED", "Software job added"),
                    ("CONFIG_JOB_ADDED", "Config job added"),
                    ("JOB_DELETED", "Update job deleted"),
                    ("ROLLOUT_CREATED", "Rollout created"),
                    ("AUTO_PROVISIONING_TOKEN_SET", "Automatic provisioning token set"),
                    ("AUTO_PROVISIONING_DISABLED", "Automatic provisioning disabled"),
                    ("CODE_ISSUED", "Provisioning code issued"),
                    ("CODE_REVOKED", "Provisioning code withdrawn"),
                    ("CODES_EXPIRED", "Expired provisioning codes deleted"),
                    ("ZTP_ONBOARD", "ZTP onboard"),
                    ("ZTP_ROTATE", "ZTP credentials rotated"),
                    ("ZTP_DISABLE", "ZTP disabled"),
                    ("ZTP_CHECK", "ZTP checked"),
                    ("ZTP_REGISTER", "ZTP phone registered"),
                    ("ZTP_UNREGISTER", "ZTP phone unregistered"),
                    ("ZTP_LOOKUP", "ZTP phone looked up"),
                    ("ZTP_IMPORT", "ZTP phones imported"),
                    ("ZTP_REKEY", "ZTP credentials re-encrypted"),
                    ("HISTORY_DELETED", "Old History deleted"),
                    ("ROLLUP_TOKENS", "Token requests counted for the dashboard"),
                    ("ROLLUP_LICENSES", "License numbers recorded for the dashboard"),
                    ("ROLLUP_REBUILD", "Dashboard rollups rebuilt"),
                ],
                max_length=40,
            ),
        ),
        # The new indexes first, then the old ones go: no moment without one.
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(fields=["customer", "created"], name="reports_hist_created"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(
                fields=["customer", "device_id", "created"], name="reports_hist_device"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(fields=["customer", "token", "created"], name="reports_hist_token"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(
                fields=["customer", "action", "created"], name="reports_hist_action"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(fields=["customer", "app_id", "created"], name="reports_hist_app"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="history",
            index=models.Index(
                fields=["customer", "result", "created"], name="reports_hist_result"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(fields=["customer", "created"], name="reports_event_created"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(fields=["customer", "type", "created"], name="reports_event_type"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(
                fields=["customer", "severity", "created"], name="reports_event_severity"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(
                fields=["customer", "username", "created"], name="reports_event_user"
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="history", name="reports_history_cust_time"),
        RemoveIndexConcurrentlyOnPostgres(model_name="history", name="reports_history_device"),
        RemoveIndexConcurrentlyOnPostgres(model_name="event", name="reports_event_cust_time"),
        # The customer's own index goes: every index above begins with the customer. A
        # plain DROP INDEX: quick, though it waits for running queries of the table.
        migrations.AlterField(
            model_name="event",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="accounts.customer",
            ),
        ),
        migrations.AlterField(
            model_name="history",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="accounts.customer",
            ),
        ),
        migrations.RunPython(set_event_areas, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(fill_event_actors, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes),
    ]
