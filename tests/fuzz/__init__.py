"""Fuzzing the parsers at modelwatch's trust boundaries (hypothesis, derandomized).

Three inputs come from outside: ARM ``Models - List`` pages (``parse_models`` and what wraps a page: the ARM
client's paging, the catalog file source), ARM deployments (``parse_deployment``) and Event Grid events
(``parse_body`` -> ``LifecycleEvent.from_wire`` -> the subscribers, directly and through the Functions trigger's
own decoder and ``event_wire``). Inputs are random JSON and *mutated real payloads* (the example page, the dated
catalogs of shared/data, events the diff really emits, docs/events.md, the alert samples): keys deleted, values
of the wrong type, unknown enum values, bad dates, huge strings, unicode, nested nonsense, forged events.

Properties: a parser returns a result or raises one of its documented clear errors (a ``ModelWatchError``
subclass with a message), never a raw KeyError/TypeError/AttributeError/ValueError; a bad catalog entry is
reported by name and loses nothing else; a forged or out-of-scope event writes nothing (no ARM GET or PUT, no
ledger entry, no alert, nothing published) and a valid event after a batch of garbage is handled normally.

The bugs these tests found (an OverflowError from dates at the edge of datetime's range, CloudEvents
deliveries, a location differing only in case) are fixed; tests/fuzz/test_fuzz_regressions.py pins each one.

One file per input (test_<input>_fuzz.py), the helpers by input under support/ (strategies.py: the settings, the
error predicate, the JSON strategies and mutations), and test_property_checks.py: each check can fail.
Derandomized: every run tests the same examples.
"""

import pytest

# the checks in support/ are asserts: rewritten as in a test module, a failing one shows the values it compared
pytest.register_assert_rewrite("tests.fuzz.support")
