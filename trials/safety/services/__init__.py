"""Writes for adverse events and their reporting clocks (keyword-only, atomic, audited, scope re-checked)."""
