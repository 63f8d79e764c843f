"""Portal forms for bootstraps, tokens and desk phones.

They only shape the input. The rules (names, token values, JSON objects, versions) are
checked by provisioning.services; the views map the services' errors back onto these
fields with SERVICE_FIELDS.
"""

from __future__ import annotations

import json

from django import forms

from accounts.models import Customer
from provisioning.models import TOKEN_RULE, Bootstrap, Token
from provisioning.xml_import import MAX_XML_BYTES, XmlImportError, xml_to_parameters
from reports.models import AppId

# The services (tokens, bootstraps, phones) name fields the way the API does; the forms
# use Python names.
SERVICE_FIELDS = {
    "appId": "app_id",
    "expiresAt": "expires_at",
    "maxRedemptions": "max_redemptions",
    "configType": "config_type",
    "user": "users",
}


class VersionForm(forms.Form):
    """The version the user looked at, sent back so a concurrent change is not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class BootstrapForm(forms.Form):
    name = forms.CharField(label="Name", max_length=128)
    parameters = forms.CharField(
        label="Parameters (JSON)",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
        strip=False,
        help_text='A JSON object, for example {"site": "site-1094"}.',
    )
    xml_file = forms.FileField(
        label="Or convert an XML settings file",
        required=False,
        widget=forms.FileInput(attrs={"accept": ".xml,text/xml,application/xml"}),
        help_text=(
            "The Zebra Voice client is configured by XML: convert its settings file to fill "
            "in the parameters above. Nothing is saved until you have reviewed them and "
            "saved the bootstrap."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, instance: Bootstrap | None = None, **kwargs):
        self.instance = instance
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {
                "name": instance.name,
                "parameters": instance.parameters,
                "version": instance.version,
                **initial,
            }
        else:
            initial = {"parameters": {}, **initial}
        if isinstance(initial.get("parameters"), dict | list):
            initial["parameters"] = _pretty_json(initial["parameters"])
        super().__init__(*args, initial=initial, **kwargs)
        # An edit without the version it started from could silently undo someone's change.
        self.fields["version"].required = instance is not None

    @property
    def has_upload(self) -> bool:
        return bool(self.files.get(self.add_prefix("xml_file")))

    def clean_xml_file(self):
        """The uploaded XML converted to parameters (a dict), or None without an upload."""
        upload = self.cleaned_data.get("xml_file")
        if not upload:
            return None
        try:
            # One byte past the limit is enough for the importer to refuse a big file,
            # without reading all of it into memory.
            return xml_to_parameters(upload.read(MAX_XML_BYTES + 1))
        except XmlImportError as exc:
            raise forms.ValidationError(str(exc)) from None

    def review_form(self) -> BootstrapForm:
        """After a successful upload: an unbound form showing the converted parameters, with
        the name and version the user sent, for them to check and save."""
        return BootstrapForm(
            instance=self.instance,
            initial={
                "name": self.data.get(self.add_prefix("name"), ""),
                "parameters": self.cleaned_data["xml_file"],
                "version": self.data.get(self.add_prefix("version"), ""),
            },
        )


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Token",
        help_text=f"{TOKEN_RULE[:1].upper()}{TOKEN_RULE[1:]}; case does not matter.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    # The ID is what scripts and the apps know; the name says which app it is.
    app_id = forms.ChoiceField(
        label="App ID", choices=[(value, f"{value} ({label})") for value, label in AppId.choices]
    )
    bootstrap = forms.ModelChoiceField(
        label="Bootstrap", queryset=Bootstrap.objects.none(), empty_label="Choose a bootstrap"
    )
    description = forms.CharField(label="Description", required=False)
    expires_at = forms.DateTimeField(
        label="Expires",
        required=False,
        widget=DateTimeLocalInput(),
        help_text="Leave empty for a token that does not expire.",
    )
    max_redemptions = forms.IntegerField(
        label="Max redemptions",
        required=False,
        help_text="How many times devices may redeem it; leave empty for no limit.",
    )
    revoked = forms.BooleanField(
        label="Revoked", required=False, help_text="A revoked token is refused to every device."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, customer: Customer, instance: Token | None = None, **kwargs) -> None:
        self.instance = instance
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {
                "token": instance.value,
                "app_id": instance.app_id,
                "bootstrap": instance.bootstrap_id,
                "description": instance.description,
                "expires_at": instance.expires_at,
                "max_redemptions": instance.max_redemptions,
                "revoked": instance.revoked,
                "version": instance.version,
                **initial,
            }
        super().__init__(*args, initial=initial, **kwargs)
        # Only the acting customer's bootstraps: another customer's pk is "not a valid choice".
        self.fields["bootstrap"].queryset = Bootstrap.objects.for_customer(customer).order_by(
            "name", "pk"
        )
        self.fields["version"].required = instance is not None


def _pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
