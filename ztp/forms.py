from django import forms

from ztp.services.common import IMPORT_MAX

# A CSV of MACs is small: 200 lines of 17 characters. Anything much bigger is not one.
IMPORT_FILE_MAX = 64 * 1024


class PhoneForm(forms.Form):
    mac = forms.CharField(
        label="MAC address",
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": "00:04:13:2A:3B:4C", "autocomplete": "off"}),
    )


class PhoneBulkForm(forms.Form):
    """Many MACs, pasted or in a CSV file, to register or (once confirmed) remove."""

    macs = forms.CharField(
        label="MAC addresses",
        required=False,
        max_length=IMPORT_FILE_MAX,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "00:04:13:2A:3B:4C\n00:04:13:2A:3B:4D"}
        ),
        help_text=f"One a line, at most {IMPORT_MAX}.",
    )
    file = forms.FileField(
        label="or a CSV file",
        required=False,
        help_text="The first column; a 'mac' header is skipped.",
    )
    op = forms.ChoiceField(choices=[("register", "Register"), ("remove", "Remove")])
    confirmed = forms.BooleanField(required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload is None:
            return ""
        if upload.size > IMPORT_FILE_MAX:
            raise forms.ValidationError(f"at most {IMPORT_FILE_MAX // 1024} KB")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("not UTF-8 text") from None

    def clean(self):
        data = super().clean()
        pasted, uploaded = data.get("macs", "").strip(), data.get("file", "")
        if "file" in data and "macs" in data:
            if pasted and uploaded:
                raise forms.ValidationError("paste MAC addresses or choose a file, not both")
            if not pasted and not uploaded:
                raise forms.ValidationError("paste MAC addresses or choose a CSV file")
            data["text"] = uploaded or data["macs"]
        return data
