"""The one JSON parser of every API (device and admin): strict JSON (core.jsontext), a
size limit answered 413, and errors that name the body."""

from __future__ import annotations

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from core.jsontext import JSONTextError, json_parse


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def read_limited(stream, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes (read one past it to tell)."""
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"body: larger than {limit} bytes")
    return raw


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"body: not UTF-8 text (byte {exc.start})") from None
        try:
            return json_parse(text)
        except JSONTextError as exc:
            raise ParseError(f"body: not valid JSON: {exc}") from None
