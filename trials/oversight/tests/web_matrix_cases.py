"""stub"""
from trials.oversight.tests.matrix_cases import arrange  # noqa: F401

CASES: list = []
