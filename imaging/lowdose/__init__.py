"""Low-dose and short-scan PET evaluated against the standard image, and the dose each exam saved (issue 18)."""
