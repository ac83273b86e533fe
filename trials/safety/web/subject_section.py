"""The subject page's adverse events the user may read (registered with the trials subject-page hook from
SafetyConfig.ready())."""
from typing import Any

from trials.models import Subject
from trials.safety.selectors import adverse_event_list
from trials.web.subject_sections import register_subject_section


@register_subject_section("adverse_events")
def subject_adverse_events(user: Any, subject: Subject, context: dict[str, Any]) -> None:
    context["events"] = list(adverse_event_list(user=user).filter(subject=subject))
