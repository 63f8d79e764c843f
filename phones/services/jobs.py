"""Update jobs: software and configuration changes for a category's phones."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import Customer, User
from core.jsontext import json_value_error
from phones.models import Category, ConfigJob, SoftwareJob
from reports.models import EventType
from reports.services import event_log


def _check_job(customer: Customer, category: Category | None, value: Any, field: str) -> None:
    errors = {}
    if category is None or category.customer_id != customer.pk:
        errors["category"] = "must be one of your categories"
    if not isinstance(value, dict):
        errors[field] = "must be a JSON object"
    else:
        problem = json_value_error(value)
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationError(errors)


def software_job_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category,
    firmware: dict,
    description: str = "",
) -> SoftwareJob:
    """A software update for the category's phones; the firmware description is kept as
    given, so later edits elsewhere never change what the job sends."""
    _check_job(customer, category, firmware, "firmware")
    if len(description) > 255:
        raise ValidationError({"description": "at most 255 characters"})
    job = SoftwareJob.objects.create(
        customer=customer,
        category=category,
        firmware=firmware,
        description=description,
        created_by=user,
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.SOFTWARE_JOB_ADDED,
        info=f"Software job for category {category.name} added",
        data={"job": job.pk, "firmware": firmware},
    )
    return job


def config_job_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category,
    config_type: str,
    parameters: dict,
    description: str = "",
) -> ConfigJob:
    """A configuration change of one type for the category's phones."""
    _check_job(customer, category, parameters, "parameters")
    config_type = (config_type or "").strip()
    if not config_type or len(config_type) > 64 or any(ord(c) < 32 for c in config_type):
        raise ValidationError({"configType": "1 to 64 printable characters, e.g. ntp or language"})
    if len(description) > 255:
        raise ValidationError({"description": "at most 255 characters"})
    job = ConfigJob.objects.create(
        customer=customer,
        category=category,
        config_type=config_type,
        parameters=parameters,
        description=description,
        created_by=user,
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.CONFIG_JOB_ADDED,
        info=f"{config_type} job for category {category.name} added",
        data={"job": job.pk, "configType": config_type, "parameters": parameters},
    )
    return job


def job_delete(*, job: SoftwareJob | ConfigJob, user: User | None) -> None:
    kind = "Software" if isinstance(job, SoftwareJob) else f"{job.config_type}"
    pk = job.pk
    deleted, _ = type(job).objects.filter(pk=pk).delete()
    if deleted:
        event_log(
            customer=job.customer,
            user=user,
            type=EventType.JOB_DELETED,
            info=f"{kind} job {pk} deleted",
            data={"job": pk},
        )


def jobs_for(category: Category) -> tuple[SoftwareJob | None, list[ConfigJob]]:
    """The latest software job of the category and the latest job of every config type."""
    software = SoftwareJob.objects.filter(category=category).order_by("-created", "-id").first()
    latest: dict[str, ConfigJob] = {}
    for job in ConfigJob.objects.filter(category=category).order_by(
        "config_type", "-created", "-id"
    ):
        latest.setdefault(job.config_type, job)
    return software, list(latest.values())
