"""Portal forms for devices. They only shape the input: devices.services checks it, and the
views map the service's error keys back onto these fields with SERVICE_FIELDS."""

from __future__ import annotations

from django import forms

from devices.models import DeviceKind

# The service names fields the way the API does (mergeProvider); the form uses Python names.
SERVICE_FIELDS = {
    "kind": "kind",
    "id": "device_id",
    "phoneNumber": "phone_number",
    "password": "password",
}


class DeviceAddForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=DeviceKind.choices)
    device_id = forms.CharField(
        label="Device ID",
        max_length=128,
        strip=True,
        help_text="The ID the device reports: its model, an underscore and its serial or ID, "
        "e.g. TC52_18304522512397.",
    )
    phone_number = forms.CharField(
        label="Phone number",
        max_length=32,
        required=False,
        help_text="Optional: only for devices that need it to communicate.",
    )
    password = forms.CharField(
        label="Password",
        max_length=128,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Optional: stored hashed.",
    )
