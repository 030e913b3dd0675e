"""Test session wiring: the lanes (markers, tests/lanes.py); the local stand-ins for Azure endpoints are pytest plugins
under tests/fakes."""

pytest_plugins = [
    "tests.lanes",
    "tests.fakes.azurite",
    "tests.fakes.arm_server",
    "tests.fakes.dataplane_server",
    "tests.fakes.eventgrid_server",
    "tests.fakes.recorder",
    "tests.fakes.webhooks",
    "tests.reliability",
    "pytester",  # tests/unit/test_lanes.py runs pytest on sample tests
]
