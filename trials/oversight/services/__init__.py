"""Writes for signatures and data queries (keyword-only, atomic, audited, scope re-checked)."""
