from trials.oversight.models.queries import DataQuery, QueryMessage
from trials.oversight.models.signatures import Signature

__all__ = ["DataQuery", "QueryMessage", "Signature"]
