"""Serializer fields shared by the APIs."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """Text only: a number, boolean, list or object where the schema says string is
    refused, not turned into text."""

    default_error_messages = {"not_text": "must be text (a JSON string)"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)
