"""Versioned reference tables (pure data) behind the nucmed calculators.

One module per table, each with VERSION and SOURCE and per-row `unverified` flags copied from
the manual's physics page (docs/physics.md). A medical physicist replaces a table by editing its module and
bumping VERSION; every calculator result records the version it used.
"""
