"""stub"""
from imaging.reading.tests.matrix_cases import arrange  # noqa: F401

CASES: list = []
