"""`python -m llmkit`: the `llmkit` command line."""

from llmkit.cli import main

raise SystemExit(main())
