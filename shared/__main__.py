"""``python -m shared``: the command line."""

from shared.cli.main import main

raise SystemExit(main())
