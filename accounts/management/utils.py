from django.core.exceptions import ValidationError


def describe(exc: ValidationError) -> str:
    """One line naming each bad field, for a management command's error."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
