"""Hidden checks for week 5 (the Transformer)."""
