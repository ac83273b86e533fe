import logging

from registry.context import _current


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the request/correlation id of the work it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        record.request_id = ctx.request_id if ctx else "-"
        return True
