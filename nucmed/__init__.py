"""Pure nuclear-medicine reference data and calculators; imports nothing from the Django apps."""
