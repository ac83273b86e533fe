"""What every page form shares: Bootstrap widgets, and a service's refusal shown next to the fields it names."""
from typing import Any

from django import forms

from registry.errors import ApplicationError


class BootstrapFormMixin:
    """Give every widget Bootstrap's class and mark invalid fields, so templates stay a loop over fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            css = "form-check-input" if getattr(widget, "input_type", "") == "checkbox" else (
                "form-select" if isinstance(widget, forms.Select) else "form-control")
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        # Invalid fields are marked after validation, not in __init__: reading self.errors there would validate before
        # a subclass's __init__ has set its choices or querysets, and cache that wrong result.
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                widget = self.fields[name].widget  # type: ignore[attr-defined]
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-describedby"] = f"id_{name}_error"


class BootstrapForm(BootstrapFormMixin, forms.Form):
    pass


def add_application_error(form: forms.Form, error: ApplicationError) -> None:
    """Put a service's ApplicationError on the form: the same messages the API returns, next to their fields.

    Fields the form does not show go to the top of the form with the message, so nothing is silently dropped.
    """
    placed = False
    for field, messages in error.fields.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
        if target is not None:
            widget = form.fields[field].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
    if not placed or error.message not in {str(m) for msgs in error.fields.values() for m in msgs}:
        form.add_error(None, error.message)
