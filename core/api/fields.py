"""Serializer fields shared by the APIs."""

import re

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """Text only: a number, boolean, list or object where the schema says string is
    refused, not turned into text."""

    default_error_messages = {"not_text": "must be text (a JSON string)"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    """An email address, given as text (not a number turned into text)."""

    default_error_messages = StrictCharField.default_error_messages

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


# --- Query parameters ----------------------------------------------------------------
# Query values arrive as text. DRF's fields read more spellings than a schema can say
# (BooleanField takes yes/on/1…, IntegerField takes "1.0", " 5" and other scripts'
# digits); these take exactly what the schema says, so what the schema refuses is refused.


# "Not blank" as a schema pattern: a character that is neither whitespace nor one of the
# separators \x1c-\x1f, which Python's str.strip() (DRF's trimming) also removes but other
# regular expression engines do not count as whitespace.
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f]"


def or_empty(schema: dict) -> dict:
    """`schema`, or the empty text that means "none" (`?expiresAt=`)."""
    return {"anyOf": [schema, {"type": "string", "enum": [""]}]}


class QueryBooleanField(serializers.BooleanField):
    """`true` or `false`."""

    def to_internal_value(self, data):
        if isinstance(data, bool):  # DRF's own default for a parameter left out
            return data
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid", input=str(data)[:40])


class QueryIntegerField(serializers.IntegerField):
    """A whole number in ASCII digits, optionally after a minus sign."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _WHOLE_NUMBER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
