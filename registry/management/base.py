"""Base for management commands that write: they run in a work context and act as a named user."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.context import work_context
from registry.models import User
from registry.models.people import SYSTEM_USERNAME


class AuditedCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=SYSTEM_USERNAME, help="Username recorded as the actor in the audit trail.")

    def execute(self, *args: Any, **options: Any) -> str | None:
        with work_context(source="command"):
            return super().execute(*args, **options)

    def actor(self, options: dict[str, Any]) -> User:
        try:
            return User.objects.get(username=options["actor"])
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {options['actor']!r} to act as") from exc
