"""The version of modelwatch: the one place it is written (pyproject.toml reads it, ``--version`` prints it, and
every HTTP call says it in its User-Agent)."""

VERSION = "0.1.0"
# ARM, Event Grid and webhook calls identify themselves (a platform's logs and throttling tell our calls apart)
USER_AGENT = f"modelwatch/{VERSION}"
