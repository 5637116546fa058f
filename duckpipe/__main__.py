"""``python -m duckpipe`` runs the CLI."""

from duckpipe.cli import main

raise SystemExit(main())
