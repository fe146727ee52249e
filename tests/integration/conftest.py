"""Fixtures of the integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def c(catalog_app):
    """A client of the demo district with the shipped catalog, keeping each person's API token
    (``tests.support.cases.token``)."""
    client = catalog_app.test_client()
    client.tokens = {}
    return client
