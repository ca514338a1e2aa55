"""Wire formats: pure functions between llmkit types and each host API's JSON."""
