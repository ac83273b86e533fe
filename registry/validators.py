"""Password rules of our own, beside Django's (AUTH_PASSWORD_VALIDATORS)."""
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext


class DistinctCharactersValidator:
    """Refuses a password with fewer than `min_distinct` different characters, whitespace not counted.

    Twelve identical characters, or twelve spaces, pass the length rule and are among the first guesses;
    Django's validators let both through.
    """

    def __init__(self, min_distinct: int = 4) -> None:
        self.min_distinct = min_distinct

    def validate(self, password: str, user: Any = None) -> None:
        if len({c for c in password if not c.isspace()}) < self.min_distinct:
            raise ValidationError(
                ngettext(
                    "This password must contain at least %(min_distinct)d different character, not counting spaces.",
                    "This password must contain at least %(min_distinct)d different characters, not counting spaces.",
                    self.min_distinct,
                ),
                code="password_too_few_distinct_characters",
                params={"min_distinct": self.min_distinct},
            )

    def get_help_text(self) -> str:
        return ngettext(
            "Your password must contain at least %(min_distinct)d different character, not counting spaces.",
            "Your password must contain at least %(min_distinct)d different characters, not counting spaces.",
            self.min_distinct,
        ) % {"min_distinct": self.min_distinct}
