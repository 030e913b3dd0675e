"""What function_app.py calls: ``entrypoints.py`` (the timer, queue and Event Grid triggers: parse the wire, build
the services once per worker, call one service) and ``web.py`` (the HTTP functions: the status page and rollback,
behind sign-in). Import-light: the host imports this at indexing, everything heavy on first invocation."""
