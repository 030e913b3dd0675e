"""The command line: ``modelwatch <command>`` or ``python -m shared <command>`` (``main.py``), the parser
(``parser.py``), each command group in ``commands/``, and what every command shares: the settings and state it runs
against (``context.py``) and the output conventions, as ``az`` has them (``output.py``)."""
