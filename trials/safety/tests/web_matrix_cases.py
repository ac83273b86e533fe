"""stub"""
from trials.safety.tests.matrix_cases import arrange  # noqa: F401

CASES: list = []
