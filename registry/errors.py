"""The one domain error. Services raise it; the API renders it as 400 {code, detail, fields}."""
from collections.abc import Mapping, Sequence


class ApplicationError(Exception):
    """Bad input or a refused action, with a stable machine code and a message for people.

    The message must never contain a patient identifier: it is shown to users and may be logged.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
