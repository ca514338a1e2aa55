"""Type-checked copies of the README's and docs' Python snippets (see generate.py)."""
