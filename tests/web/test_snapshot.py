"""The dashboard's private copies of a DuckDB warehouse: pages never wait on a writer, writers never on pages."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from servers import REPO
from starlette.testclient import TestClient
from web.site import Demo

from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse
from job_run_aggregator.web import create_app
from job_run_aggregator.web.snapshot import SnapshotStore


def jobs_count(store: SnapshotStore) -> int:
    wh = store.open()
    try:
        return int(wh.query("SELECT COUNT(*) AS n FROM Jobs")[0]["n"])
    finally:
        wh.close()


@pytest.fixture()
def served(demo: Demo, tmp_path: Path) -> Iterator[tuple[Path, SnapshotStore]]:
    path = tmp_path / "served.duckdb"
    path.write_bytes(demo.warehouse.read_bytes())
    store = SnapshotStore(path, tmp_path / "copies", refresh_every=0.1)
    yield path, store
    store.stop()


class Holder:
    """Another process holding the warehouse open for writing (as upload-all does), until released."""

    def __init__(self, path: Path) -> None:
        code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.readline();"
                "c.execute(\"DELETE FROM Jobs WHERE JobName LIKE '%4.13%'\"); c.close(); print('done', flush=True)")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def commit_and_exit(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"
        assert self.proc.wait(timeout=60) == 0


def test_pages_show_the_last_good_copy_while_a_writer_holds_the_file(served: tuple[Path, SnapshotStore]) -> None:
    path, store = served
    assert store.refresh() is True
    before = jobs_count(store)
    holder = Holder(path)
    try:
        # The writer changed nothing yet, but holds the file: the copy in use answers, stamped with its time.
        client = TestClient(create_app(lambda: DuckDBWarehouse(path, read_only=True), str(path.parent),
                                       snapshots=store))
        response = client.get("/overview.json")
        assert response.status_code == 200 and response.json()["state"] == "ok"
        assert response.json()["data_status"]["as_of"] is not None
        path.touch()  # looks changed: the store tries, finds the writer, and keeps the last good copy
        assert store.refresh() is False
        assert store.data_status().writer_busy_since is not None
        assert jobs_count(store) == before
        page = client.get("/overview")
        assert page.status_code == 200 and "a writer has been loading new data since" in page.text
    finally:
        holder.commit_and_exit()
    assert store.refresh() is True
    assert jobs_count(store) < before
    assert store.data_status().writer_busy_since is None


def test_a_writer_started_while_serving_succeeds(served: tuple[Path, SnapshotStore]) -> None:
    path, store = served
    store.start()  # background refreshes every 0.1 s: each commit below makes the next one copy the file
    # Another process, as upload-all is: 20 writes, each opening the file anew, all while copies are taken.
    code = ("import sys\nfrom job_run_aggregator.warehouse.duckdb import DuckDBWarehouse\n"
            "for i in range(20):\n"
            "    w = DuckDBWarehouse(sys.argv[1])\n"
            "    w.con.execute('CREATE TABLE IF NOT EXISTS Touch (n INTEGER)')\n"
            "    w.con.execute('INSERT INTO Touch VALUES (?)', [i])\n"
            "    w.close()\n")
    writer = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")}, check=False)
    assert writer.returncode == 0, writer.stderr[-2000:]
    deadline = time.monotonic() + 30
    while store.data_status().as_of is None or jobs_count(store) == 0 or not _touched(store, 20):
        assert time.monotonic() < deadline, "the last commit never reached the copy"
        time.sleep(0.1)


def _touched(store: SnapshotStore, n: int) -> bool:
    wh = store.open()
    try:
        return int(wh.query("SELECT COUNT(*) AS n FROM Touch")[0]["n"]) == n
    except Exception:  # noqa: BLE001  # the table is not in the copy yet
        return False
    finally:
        wh.close()


def test_a_replaced_copy_is_deleted_when_its_last_reader_closes(served: tuple[Path, SnapshotStore]) -> None:
    path, store = served
    store.refresh()
    reader = store.open()
    first = Path(reader.path)
    writer = DuckDBWarehouse(path)
    writer.con.execute("CREATE TABLE Touch (n INTEGER)")
    writer.close()
    assert store.refresh() is True
    assert first.exists()  # still read by a request
    assert reader.query("SELECT COUNT(*) AS n FROM Jobs")[0]["n"] > 0
    reader.close()
    assert not first.exists()
    assert len(list((path.parent / "copies").glob("snapshot-*.duckdb"))) == 1


def test_a_file_that_is_not_a_warehouse_is_a_plain_message(tmp_path: Path) -> None:
    path = tmp_path / "random.duckdb"
    path.write_bytes(b"\x00not a duckdb file" * 1000)
    store = SnapshotStore(path, tmp_path / "copies")
    try:
        client = TestClient(create_app(lambda: DuckDBWarehouse(path, read_only=True), str(tmp_path),
                                       snapshots=store))
        response = client.get("/overview.json")
        assert response.status_code == 200 and response.json()["state"] == "no-tables"
        assert store.data_status().problem.startswith("the warehouse file cannot be read (")
        assert str(tmp_path) not in response.text
    finally:
        store.stop()


def test_pages_are_computed_once_per_copy(served: tuple[Path, SnapshotStore], demo: Demo) -> None:
    path, store = served
    store.refresh()  # as serve's start does
    client = TestClient(create_app(lambda: DuckDBWarehouse(path, read_only=True), str(path.parent),
                                   snapshots=store, min_job_runs=20))
    params = {"now": demo.now_param, "release": "all"}
    first = client.get("/overview.json", params=params).json()
    again = client.get("/overview.json", params=params).json()
    assert again == first  # the same computation, stamp included
    writer = DuckDBWarehouse(path)
    writer.con.execute("DELETE FROM Jobs WHERE Release = '4.13'")
    writer.close()
    assert store.refresh() is True
    fresh = client.get("/overview.json", params=params).json()
    assert {c["Release"] for c in fresh["cells"]} == {"4.14"} != {c["Release"] for c in first["cells"]}


def test_a_writer_busy_before_the_first_copy_is_a_503_to_retry(demo: Demo, tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    path.write_bytes(demo.warehouse.read_bytes())
    holder = Holder(path)
    store = SnapshotStore(path, tmp_path / "copies")
    try:
        client = TestClient(create_app(lambda: DuckDBWarehouse(path, read_only=True), str(tmp_path),
                                       snapshots=store))
        response = client.get("/overview.json")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["message"] == ("The warehouse is unavailable right now (LockBusy); try again in a "
                                              "few seconds.")
        holder.commit_and_exit()
        assert store.refresh() is True
        assert client.get("/overview.json").status_code == 200
    finally:
        if holder.proc.poll() is None:
            holder.proc.kill()
        store.stop()


def test_recent_pages_are_recomputed_when_new_data_arrives(served: tuple[Path, SnapshotStore], demo: Demo) -> None:
    path, store = served
    store.refresh()
    app = create_app(lambda: DuckDBWarehouse(path, read_only=True), str(path.parent), snapshots=store,
                     min_job_runs=20)
    dash = app.state.dashboard
    client = TestClient(app)
    params = {"now": demo.now_param, "release": "all"}
    assert client.get("/overview.json", params=params).status_code == 200
    writer = DuckDBWarehouse(path)
    writer.con.execute("DELETE FROM Jobs WHERE Release = '4.13'")
    writer.close()
    assert store.refresh() is True
    computed: list[str] = []
    view = dash.pages["overview"].view

    def counting(d: object, p: object) -> dict:
        computed.append("overview")
        return view(d, p)  # type: ignore[arg-type]

    dash.pages["overview"] = replace(dash.pages["overview"], view=counting)
    dash.warm()  # what the refresher does after a new copy
    assert computed == ["overview"]
    fresh = client.get("/overview.json", params=params).json()
    assert computed == ["overview"]  # answered from the warmed page
    assert {c["Release"] for c in fresh["cells"]} == {"4.14"}
