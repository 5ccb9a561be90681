"""Every test here runs on the testkit plugin alone (see ``testkit_registry`` in ``tests/conftest.py``): the
core stands on its own, without the first-party plugins."""

import pytest


@pytest.fixture(autouse=True)
def _testkit_only(testkit_registry):
    yield testkit_registry
