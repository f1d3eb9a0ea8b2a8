"""Every dashboard page on PostgreSQL: ``llmledger serve --demo`` on a PostgreSQL database of its
own, each page loaded in chromium with no console error and no failed request, its charts
drawn with their data points."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DemoServer, OpenTab
from tests.browser.pages import PAGES, charts_of, ids_of, path_of

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_every_page_loads_clean_on_postgresql(open_pg_tab: OpenTab, pg_demo: DemoServer) -> None:
    ids = ids_of(pg_demo)
    tab = open_pg_tab("admin")
    for name in PAGES:
        assert tab.goto(path_of(name, ids)) == 200, name
        tab.charts_drawn()
        charts = charts_of(tab.page)
        assert all(c["drawn"] and c["points"] > 0 for c in charts), (name, charts)
        assert not tab.watch.faults, (name, tab.watch.faults)
    viewer = open_pg_tab("viewer")
    for name in ("overview", "org", "requests", "sessions", "models"):
        assert viewer.goto(path_of(name, ids_of(pg_demo, pg_demo.viewer_org))) == 200, name
        viewer.charts_drawn()
        assert not viewer.watch.faults, (name, viewer.watch.faults)
