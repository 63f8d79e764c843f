"""Small helpers the desk phone pages share."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.cache import add_never_cache_headers


def error_sentences(error: ValidationError) -> list[str]:
    """A ValidationError as sentences for a page without a field to put them on."""
    if hasattr(error, "error_dict"):
        return [f"{key}: {' '.join(value)}" for key, value in error.message_dict.items()]
    return list(error.messages)


def never_cached(response):
    add_never_cache_headers(response)
    return response
