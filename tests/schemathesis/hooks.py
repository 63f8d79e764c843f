"""Schemathesis hooks of the CI step (tests/schemathesis/run.sh loads them).

The run signs in as one Super-Admin and keeps its access token for the whole run. Two
things would end that login half-way and turn every later answer into a 401: changing
that user through PUT /users/{id} (a new password revokes its tokens) and logging its
refresh token out. Requests aimed at the signed-in user are left out; every other user,
which the run creates itself, is fair game. (Deleting oneself, or demoting a customer's
last Super-Admin, is refused by design with 400, which is why these are not merely
tolerated.)
"""

from __future__ import annotations

import os

import schemathesis

SIGNED_IN_USER_ID = os.environ.get("SCHEMATHESIS_USER_ID", "")
# run.sh prints what filter_failure dropped, counted by kind, from this file.
DROPPED_LOG = os.environ.get("SCHEMATHESIS_DROPPED_LOG", "")


@schemathesis.hook
def filter_case(context, case):
    # filter_case runs in the examples, coverage and fuzzing phases; schemathesis.toml
    # keeps these two operations out of the stateful phase, whose links bypass it.
    if case.operation.path != "/admin/api/v1/users/{id}":
        return True
    if case.method.upper() not in {"PUT", "DELETE"}:
        return True
    return str((case.path_parameters or {}).get("id")) != SIGNED_IN_USER_ID


# Refusals a schema cannot express, because they depend on what is stored rather than on
# the request's shape (a name or e-mail address another user already has, a bootstrap
# that does not exist, the login name a PUT must repeat, the last Super-Admin, an API key
# the vendor refuses) or on rules beyond JSON Schema (a password too common or too like
# the user's name; the CSV grammar of an import file).
# The API answers them 400 naming the field, by design; positive_data_acceptance
# (ST202) cannot know that. Only such a 400, whose every error is one of these, is
# dropped, and only for that check: any other error in the same answer still fails. The
# run's output counts what was dropped.
FIELD_REFUSALS = {
    ("POST", "/admin/api/v1/users"): {
        "username": ("already exists",),
        "email": ("Another account uses this e-mail address",),
        "password": ("too common", "too similar"),
    },
    ("PUT", "/admin/api/v1/users/{id}"): {
        "username": ("cannot change",),
        "email": ("Another account uses this e-mail address",),
        "password": ("too common", "too similar"),
        "role": ("last Super-Admin",),
    },
    ("POST", "/admin/api/v1/token"): {
        "bootstrap": ("no bootstrap named",),
        "name": ("already in use",),
    },
    # Desk phones: categories, users and bootstraps named by name.
    ("POST", "/admin/api/v1/categories"): {
        "name": ("already exists",),
        "bootstrap": ("does not exist",),
    },
    ("POST", "/admin/api/v1/codes"): {
        "category": ("does not exist", "not a provisioning category", "no provisioning category"),
        "user": ("does not exist",),
    },
    ("POST", "/admin/api/v1/jobs/software"): {"category": ("does not exist",)},
    ("POST", "/admin/api/v1/jobs/config"): {"category": ("does not exist",)},
}
# Refusals by error code: a real token presented for another app; an API key the vendor
# (a fake on loopback in this run) does not accept, or accepts without the Role it needs.
ZTP_KEY_REFUSALS = {"key_refused", "vendor_setup"}
ERROR_REFUSALS = {
    ("POST", "/device/api/v1/bootstrap"): {"app_mismatch"},
    ("POST", "/admin/api/v1/ztp/{vendor}/onboard"): ZTP_KEY_REFUSALS,
    ("POST", "/admin/api/v1/ztp/{vendor}/key"): ZTP_KEY_REFUSALS,
}
# Import rows refused for the stored state or for a name repeated within the file.
IMPORT_ROW_REFUSALS = ("no bootstrap named", "appears twice", "defined twice", "already in use")


def _state_refusal(case, body) -> str | None:
    """What kind of refusal the schema cannot express `body` is, or None."""
    key = (case.method.upper(), case.operation.path)
    if not isinstance(body, dict) or not body:
        return None
    if key in ERROR_REFUSALS:
        error = body.get("error")
        return error if error in ERROR_REFUSALS[key] else None
    if key == ("POST", "/admin/api/v1/import"):
        error = body.get("error")
        if (case.media_type or "").startswith(("text/csv", "multipart/")):
            # A CSV file's content is not described by the schema (a string or a file).
            if error in {"invalid_file", "invalid_rows", "too_many_rows"}:
                return f"CSV file content ({error})"
            return None
        rows = body.get("rows") if error == "invalid_rows" else None
        details = [str(row.get("detail", "")) for row in rows or [] if isinstance(row, dict)]
        found = {text for detail in details for text in IMPORT_ROW_REFUSALS if text in detail}
        if (
            rows
            and len(details) == len(rows)
            and all(any(text in detail for text in IMPORT_ROW_REFUSALS) for detail in details)
        ):
            return "rows: " + ", ".join(sorted(found))
        return None
    rules = FIELD_REFUSALS.get(key)
    if not rules or not set(body) <= set(rules):
        return None
    found = set()
    for field, messages in body.items():
        if not isinstance(messages, list) or not messages:
            return None
        for message in messages:
            texts = [text for text in rules[field] if text in str(message)]
            if not texts:
                return None
            found.update(f"{field} {text}" for text in texts)
    return ", ".join(sorted(found))


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", "") != "ST202" or response.status_code != 400:
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    reason = _state_refusal(case, body)
    if reason is None:
        return True
    if DROPPED_LOG:
        with open(DROPPED_LOG, "a", encoding="utf-8") as log:
            log.write(f"{case.method.upper()} {case.operation.path}: {reason}\n")
    return False
