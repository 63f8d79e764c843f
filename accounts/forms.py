from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from accounts.models import Customer, Role, User
from accounts.timezones import time_zone_choices


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Username",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class EmailPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(label="Email", max_length=254)


class PortalUserForm(forms.Form):
    """Add or edit a portal user. Rules (unique name, password strength, last
    Super-Admin) are checked by accounts.services; the view maps their errors back."""

    username = forms.CharField(label="Login name", max_length=150)
    name = forms.CharField(label="User name", max_length=150, required=False)
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="User role", choices=Role.choices)
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )
    # The version the page showed (edits only): a save over a newer one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, instance: User | None = None, **kwargs):
        self.instance = instance
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {
                "username": instance.username,
                "name": instance.name,
                "email": instance.email,
                "role": instance.role,
                "version": instance.version,
                **initial,
            }
        super().__init__(*args, initial=initial, **kwargs)
        if instance is None:
            self.fields["password"].required = True
            self.fields["password_confirm"].required = True
        else:
            # The login name identifies the account in scripts and logs; it stays put.
            self.fields["username"].disabled = True
            self.fields["version"].required = True
            self.fields["password"].help_text = "Leave empty to keep the current password."

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password", "") != cleaned.get("password_confirm", ""):
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned


class CustomerSettingsForm(forms.Form):
    """The settings a customer's Super-Admin changes: its time zone."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        help_text="Every time in the portal is shown in this zone, for every user of this "
        "customer. Stored times do not change.",
    )


class CustomerSwitchForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.order_by("name"))


class VersionForm(forms.Form):
    """The version a confirmation page showed (delete buttons)."""

    version = forms.IntegerField(min_value=1)
