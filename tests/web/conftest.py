"""The pages are read over the same generated data set as the analytics API tests (written once
per test session and backend), through the same in-process app."""

from __future__ import annotations

import pytest

from tests.analytics import conftest as analytics
from tests.analytics.conftest import DataSet

#: the shared data set (``tests/analytics/conftest.py``)
data = analytics.data


@pytest.fixture(scope="session")
def viewer(data: DataSet) -> dict[str, str]:
    """A viewer of acme (the data set also holds globex, initech and events without an org)."""
    return data.token(role="viewer", org="acme")
