"""Endpoints of this app in the site-isolation matrix (see tests/matrix.py)."""
from registry.tests.matrix_cases import arrange  # noqa: F401
from tests.matrix import Case

CASES: list[Case] = []
