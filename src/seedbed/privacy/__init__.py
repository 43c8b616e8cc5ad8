"""Privacy: PII detection in dataset versions (policies build on its results)."""
