"""Host batch APIs: half-price bulk jobs that survive a restart (see docs/batch-api.md)."""
