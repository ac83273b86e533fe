"""Modality Worklist C-FIND (item 3): filled in by the worklist engineer's step; none until then."""
from typing import Any

WORKLIST_HANDLERS: list[tuple[Any, Any]] = []
