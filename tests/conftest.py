"""Test session wiring: the local stand-ins for Azure endpoints are pytest plugins under tests/fakes."""

pytest_plugins = [
    "tests.fakes.azurite",
    "tests.fakes.arm_server",
    "tests.fakes.eventgrid_server",
    "tests.fakes.webhooks",
    "tests.reliability",
]
