"""The photo upload form: several files at once; Pillow checks each in the service."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.screening import bilingual
from mesoclinic.screening.models import Term
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


class GhostSelect(forms.Select):
    """The area select; each option names the previous photo of that area (its thumbnail URL),
    which the camera shows faintly so the angle repeats (static/js/photo_capture.js)."""

    def __init__(self, *args, ghosts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ghosts = ghosts or {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        key = getattr(value, "value", value)
        if key in self.ghosts:
            option["attrs"]["data-ghost"] = self.ghosts[key]
        return option


class AreaField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return bilingual.text(obj, "label")  # Turkish for Turkish readers


class PhotoAreaForm(forms.Form):
    """Which of the plan's areas the photos show. A plan without areas asks nothing."""

    area = AreaField(
        label=_("Area photographed"),
        queryset=Term.objects.none(),
        required=False,
        empty_label=_("Area not recorded"),
        help_text=_("Later photos are compared with a baseline of the same area."),
    )

    def __init__(self, *args, areas=(), ghosts=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["area"]
        field.queryset = Term.objects.filter(pk__in=[area.pk for area in areas]).order_by("code")
        field.widget = GhostSelect(ghosts=ghosts or {})
        field.widget.choices = field.choices
        field.widget.attrs["data-capture-area"] = ""
        if areas:
            # The select always sends one of them; a post without it (an older page still open)
            # stores the photo as "Area not recorded" rather than refusing it.
            field.empty_label = None
            field.widget.choices = field.choices
            self.initial.setdefault("area", areas[0].pk)
        self.has_areas = bool(areas)


POINTS = range(1, 4)  # two or three landmarks
LANDMARK_LABEL = {
    "baseline": _("Baseline, landmark %(number)d, %(axis)s"),
    "later": _("Later photo, landmark %(number)d, %(axis)s"),
}
COORDINATE = {"min_value": 0, "max_value": 100_000, "required": False}


class AlignmentForm(forms.Form):
    """The landmarks of the align step: clicked on each photo (the script fills these fields),
    or typed, in pixels of the photo from its top-left corner."""

    baseline = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    later = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for photo in ("baseline", "later"):
            for number in POINTS:
                for axis in ("x", "y"):
                    self.fields[f"{photo}_{axis}_{number}"] = forms.FloatField(
                        label=LANDMARK_LABEL[photo] % {"number": number, "axis": axis},
                        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
                        **COORDINATE,
                    )

    def rows(self):
        """[(number, baseline x, baseline y, later x, later y)] bound fields, for the table."""
        return [
            (number, *(self[f"{photo}_{axis}_{number}"] for photo in ("baseline", "later") for axis in ("x", "y")))
            for number in POINTS
        ]

    def clean(self):
        data = super().clean()
        for photo in ("baseline", "later"):
            points = []
            for number in POINTS:
                x, y = data.get(f"{photo}_x_{number}"), data.get(f"{photo}_y_{number}")
                if x is None and y is None:
                    continue
                if x is None or y is None:
                    self.add_error(
                        f"{photo}_{'x' if x is None else 'y'}_{number}",
                        gettext("Give both x and y of landmark %(number)d.") % {"number": number},
                    )
                    continue
                points.append([x, y])
            data[f"{photo}_points"] = points
        return data

    @classmethod
    def initial_for(cls, baseline, later, alignment=None):
        initial = {"baseline": getattr(baseline, "pk", None), "later": getattr(later, "pk", None)}
        if alignment is not None:
            for photo, points in (("baseline", alignment.baseline_points), ("later", alignment.later_points)):
                for number, (x, y) in enumerate(points, start=1):
                    initial[f"{photo}_x_{number}"] = round(x, 1)
                    initial[f"{photo}_y_{number}"] = round(y, 1)
        return initial
