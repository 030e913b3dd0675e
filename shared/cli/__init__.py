"""The command line: ``modelwatch <command>`` or ``python -m shared <command>``. ``main.py`` parses, runs the
command and turns errors into exit codes; ``parser.py`` builds the parser from ``COMMAND_GROUPS``; ``commands/`` holds
one module per command group. What every command shares, a group defined elsewhere (iac, canary) too: the settings
and state it runs against (``context.py``), the parser class and global options (``args.py``), the output
conventions as ``az`` has them (``output.py``) and the services over the state (``state.py``). ``console.py`` is
colour for people on a terminal, which the demo's story writes through too."""
