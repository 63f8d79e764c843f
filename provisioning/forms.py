"""Portal forms for bootstraps, tokens and desk phones.

They only shape the input. The rules (names, token values, JSON objects, versions) are
checked by provisioning.services; the views map the services' errors back onto these
fields with SERVICE_FIELDS.
"""

from __future__ import annotations

import json

from django import forms

from accounts.models import Customer
from provisioning.models import TOKEN_RULE, Bootstrap, Category, Token
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


# --- Desk phones -----------------------------------------------------------------------
# Categories, update jobs, codes, rollouts and automatic provisioning. As above, the
# forms only shape the input; provisioning.phones checks the rules.


def _categories(customer: Customer, *, provisioning_only: bool = False):
    queryset = Category.objects.for_customer(customer)
    if provisioning_only:
        queryset = queryset.filter(is_provisioning=True)
    return queryset.order_by("name", "pk")


def _json_textarea(rows: int = 10) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "spellcheck": "false", "class": "code"})


class CategoryForm(forms.Form):
    name = forms.CharField(label="Name", max_length=64)
    is_provisioning = forms.BooleanField(
        label="Provisioning category",
        required=False,
        help_text="Offered when a phone is added, in rollouts and for automatic provisioning.",
    )
    bootstrap = forms.ModelChoiceField(
        label="Bootstrap",
        queryset=Bootstrap.objects.none(),
        required=False,
        empty_label="No bootstrap",
        help_text="The configuration the category's phones receive when they register.",
    )
    description = forms.CharField(label="Description", max_length=255, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, customer: Customer, instance: Category | None = None, **kwargs):
        self.instance = instance
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {
                "name": instance.name,
                "is_provisioning": instance.is_provisioning,
                "bootstrap": instance.bootstrap_id,
                "description": instance.description,
                "version": instance.version,
                **initial,
            }
        else:
            initial = {"is_provisioning": True, **initial}
        super().__init__(*args, initial=initial, **kwargs)
        # Only the acting customer's bootstraps: another customer's pk is "not a valid choice".
        self.fields["bootstrap"].queryset = Bootstrap.objects.for_customer(customer).order_by(
            "name", "pk"
        )
        self.fields["version"].required = instance is not None


class SoftwareJobForm(forms.Form):
    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.none(), empty_label="Choose a category"
    )
    firmware = forms.CharField(
        label="Firmware (JSON)",
        widget=_json_textarea(),
        strip=False,
        help_text='A JSON object describing the firmware, e.g. {"version": "13r1 sr13", '
        '"url": "https://…/ip112.bin"}. Phones get it as it is now.',
    )
    description = forms.CharField(label="Description", max_length=255, required=False)

    def __init__(self, *args, customer: Customer, **kwargs):
        initial = {"firmware": "{}", **(kwargs.pop("initial", None) or {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["category"].queryset = _categories(customer)


class ConfigJobForm(forms.Form):
    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.none(), empty_label="Choose a category"
    )
    config_type = forms.CharField(
        label="Config type",
        max_length=64,
        help_text="The kind of configuration, e.g. ntp or language. A phone gets the latest "
        "job of every type.",
    )
    parameters = forms.CharField(
        label="Parameters (JSON)",
        widget=_json_textarea(),
        strip=False,
        help_text='A JSON object, e.g. {"server": "ntp.example.com"}.',
    )
    description = forms.CharField(label="Description", max_length=255, required=False)

    def __init__(self, *args, customer: Customer, **kwargs):
        initial = {"parameters": "{}", **(kwargs.pop("initial", None) or {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["category"].queryset = _categories(customer)


class PhoneAddForm(forms.Form):
    """Add a phone: the provisioning category the new phone joins."""

    category = forms.ModelChoiceField(
        label="Provisioning category", queryset=Category.objects.none(), empty_label=None
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(customer, provisioning_only=True)


class RolloutOptionsForm(forms.Form):
    """Register phones, step 2: the category and the phone app of the new phones."""

    category = forms.ModelChoiceField(
        label="Provisioning category", queryset=Category.objects.none(), empty_label=None
    )
    app_id = forms.ChoiceField(
        label="Phone app",
        required=False,
        choices=[("", "None")] + [(value, f"{label} ({value})") for value, label in AppId.choices],
        help_text="Optional: the app the registered phones are recorded with.",
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(customer, provisioning_only=True)


class AutoEnableForm(forms.Form):
    token = forms.CharField(
        label="Security token",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Leave empty for a random token (recommended), or type your own: 20 to 128 "
        "printable characters without spaces, varied (mix upper and lower case, digits and "
        "signs) so that it cannot be guessed.",
    )


class AutoLineForm(forms.Form):
    """Build the configuration line again from a token the administrator still has."""

    token = forms.CharField(
        label="Security token",
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    category = forms.ModelChoiceField(
        label="Provisioning category", queryset=Category.objects.none(), empty_label=None
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(customer, provisioning_only=True)
