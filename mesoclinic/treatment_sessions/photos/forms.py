"""The photo upload form: several files at once; Pillow checks each in the service."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.treatment_sessions.models import PhotoKind

from .selectors import MAX_FILES, accepted_label, max_megabytes


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files from one <input type="file" multiple>; Pillow checks them in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
            if not files and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return files
        return [single(data, initial)] if data or self.required else []


class PhotoUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Taken"), choices=PhotoKind.choices, widget=forms.RadioSelect)
    images = MultipleImageField(
        label=_("Photos"),
        help_text="",
        error_messages={"required": _("Choose at least one photo.")},
    )
    caption = forms.CharField(
        label=_("Caption"),
        max_length=120,
        required=False,
        help_text=_("Optional, e.g. the area and the angle: “left thigh, side view”."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images"].help_text = gettext(
            "%(formats)s; up to %(size)s each, up to %(count)d at once. Location and camera details are removed."
        ) % {"formats": accepted_label(), "size": max_megabytes(), "count": MAX_FILES}

    def clean_images(self):
        files = self.cleaned_data["images"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(gettext("Upload at most %(count)d photos at once.") % {"count": MAX_FILES})
        return files
