"""Writes. Every function here is keyword-only, atomic, validates, audits, and re-checks scope."""
