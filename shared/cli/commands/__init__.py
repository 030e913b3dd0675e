"""One module per command group: its ``register(subparsers)`` (the parser, its help and example) and its handlers."""
