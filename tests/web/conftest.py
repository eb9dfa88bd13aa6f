"""One demo warehouse for every dashboard test: building it takes ~10 s, so once per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web.site import DEMO_MIN_RUNS, Demo, build_demo

from job_run_aggregator.web import create_app


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="session")
def make_app(demo: Demo) -> Callable[..., Starlette]:
    def make(bucket_url: str | None = None, **options: object) -> Starlette:
        options.setdefault("historical_files", [demo.backend_file])
        options.setdefault("min_job_runs", DEMO_MIN_RUNS)
        return create_app(demo.open_warehouse, bucket_url or str(demo.bucket), **options)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def client(make_app: Callable[..., Starlette]) -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)
