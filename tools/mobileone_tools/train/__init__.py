"""Training, export and evaluation of the shipped models (docs/models.md)."""
