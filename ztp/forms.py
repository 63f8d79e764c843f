from django import forms

# A CSV of MACs is small: 200 lines of 17 characters. Anything much bigger is not one.
IMPORT_FILE_MAX = 64 * 1024


class PhoneForm(forms.Form):
    mac = forms.CharField(
        label="MAC address",
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": "00:04:13:2A:3B:4C", "autocomplete": "off"}),
    )


class PhoneImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One MAC address a line (the first column; a 'mac' header is skipped), "
        "at most 200.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_FILE_MAX:
            raise forms.ValidationError(f"at most {IMPORT_FILE_MAX // 1024} KB")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("not UTF-8 text") from None
