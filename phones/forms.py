"""Forms of the desk phone pages: categories, update jobs, codes, rollouts and
automatic provisioning. They only shape the input; phones.services checks the rules."""

from __future__ import annotations

from django import forms

from accounts.models import Customer
from phones.models import Category
from provisioning.models import Bootstrap
from reports.models import AppId

# Categories, update jobs, codes, rollouts and automatic provisioning. As above, the
# forms only shape the input; phones.services checks the rules.


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
