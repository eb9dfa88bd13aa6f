"""analyze-historical-data through the CLI: round trips of origin's files, review decisions, the PR message."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.history.results_file import read_query_results, render_query_results
from job_run_aggregator.warehouse.base import open_warehouse

BACKENDS_2022 = "backend_query_results_2022-12.json"
NOW = "2026-11-28T00:00:00"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def analyze(current: Path, new: Path | None, tmp_path: Path, *extra: str):
    args = ["analyze-historical-data", "--current", str(current), "--output-file", str(tmp_path / "out.json"),
            "--pr-message", str(tmp_path / "pr.md"), *extra]
    if new is not None:
        args += ["--new", str(new)]
    return run(*args)


@pytest.mark.parametrize("name", [pytest.param(BACKENDS_2022, id="backends"),
                                  pytest.param("alerts_query_results_2022-12.json", id="alerts")])
def test_single_release_reference_file_round_trips_byte_for_byte(reference: Path, tmp_path: Path, name: str) -> None:
    original = reference / name
    rows = len(json.loads(original.read_bytes()))
    result = run("analyze-historical-data", "--current", str(original), "--new", str(original),
                 "--target-release", "4.12", "--output-file", str(tmp_path / "out.json"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.json").read_bytes() == original.read_bytes()
    kind = "Alert" if name.startswith("alerts") else "Backend disruption"
    summary = (f"**{kind}** historical data for **4.12** (P99 leeway 30%): 0 P99 increases over leeway, "
               f"0 P99 decreases, 0 added, 0 missing, 0 increases within leeway, {rows} unchanged — "
               "**no review needed**.")
    # Without --pr-message the report goes to stdout; its summary line also goes to stderr.
    assert result.stdout.startswith(summary)
    assert summary in result.stderr


@pytest.mark.parametrize("release", ["4.19", "4.20"])
def test_current_format_writes_the_target_release_rows_with_all_columns(reference: Path, tmp_path: Path,
                                                                        release: str) -> None:
    original = reference / "backend_query_results_2025-current.json"
    text = original.read_text()
    # The original objects, verbatim: the file is sorted by key, so one release's objects keep their order.
    objects = text.removeprefix("[\n").removesuffix("\n]").split(",\n  {")
    objects = [o if o.startswith("  {") else "  {" + o for o in objects]
    mine = [o for o in objects if f'"Release": "{release}",' in o]
    assert len(mine) == {"4.19": 3348, "4.20": 3202}[release]
    result = analyze(original, original, tmp_path, "--target-release", release)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.json").read_text() == "[\n" + ",\n".join(mine) + "\n]"
    first = json.loads((tmp_path / "out.json").read_text(), object_pairs_hook=lambda pairs: [k for k, _ in pairs])[0]
    assert first == ["BackendName", "Release", "FromRelease", "Platform", "Architecture", "Network", "Topology",
                     "MasterNodesUpdated", "JobRuns", "P95", "P99", "P75", "P50"]


# Edits of the 2022 file: (name, FromRelease, Platform, Network) of a 4.12 amd64 ha row → its new P99, or None
# to drop it; ADDED is a key the file does not have.
INCREASE_50 = ("cache-kube-api-new-connections", "4.11", "azure", "sdn", "12.0")  # 8.0 → 12.0
INCREASE_20 = ("cache-oauth-api-new-connections", "", "aws", "ovn", "6.0")  # 5.0 → 6.0
DECREASE = ("cache-kube-api-reused-connections", "", "aws", "sdn", "35.0")  # 70.27 → 35.0
MISSING = ("cache-kube-api-new-connections", "", "metal", "sdn", None)
ADDED = {"BackendName": "kube-api-new-connections", "Release": "4.12", "FromRelease": "", "Platform": "nutanix",
         "Architecture": "amd64", "Network": "ovn", "Topology": "ha", "JobRuns": 150, "P95": "3.0", "P99": "4.0"}


def edited(reference: Path, tmp_path: Path, edits: list[tuple], add: bool = False) -> Path:
    rows = read_query_results((reference / BACKENDS_2022).read_bytes(), BACKENDS_2022)
    new = copy.deepcopy(rows)
    for name, from_release, platform, network, p99 in edits:
        (index,) = [i for i, r in enumerate(new) if (r["BackendName"], r["FromRelease"], r["Platform"], r["Network"],
                                                     r["Architecture"]) == (name, from_release, platform, network,
                                                                            "amd64")]
        if p99 is None:
            del new[index]
        else:
            new[index]["P99"] = p99
    if add:
        new.append(dict(ADDED))
    path = tmp_path / "new.json"
    path.write_bytes(render_query_results(new))
    return path


@pytest.mark.parametrize(
    ("edits", "add", "leeway", "exit_code", "counts"),
    [
        pytest.param([INCREASE_50], False, [], 1, "1 P99 increase over leeway, 0 P99 decreases, 0 added, 0 missing, "
                     "0 increases within leeway", id="increase-over-leeway"),
        pytest.param([INCREASE_20], False, [], 0, "0 P99 increases over leeway, 0 P99 decreases, 0 added, 0 missing, "
                     "1 increase within leeway", id="increase-within-leeway"),
        pytest.param([INCREASE_20], False, ["--leeway", "10"], 1, "1 P99 increase over leeway, 0 P99 decreases, "
                     "0 added, 0 missing, 0 increases within leeway", id="increase-over-a-smaller-leeway"),
        pytest.param([DECREASE], False, [], 0, "0 P99 increases over leeway, 1 P99 decrease, 0 added, 0 missing",
                     id="decrease"),
        pytest.param([], True, [], 0, "0 P99 increases over leeway, 0 P99 decreases, 1 added, 0 missing",
                     id="added"),
        pytest.param([MISSING], False, [], 1, "0 P99 increases over leeway, 0 P99 decreases, 0 added, 1 missing",
                     id="missing"),
    ],
)
def test_review_decision(reference: Path, tmp_path: Path, edits: list[tuple], add: bool, leeway: list[str],
                         exit_code: int, counts: str) -> None:
    new = edited(reference, tmp_path, edits, add)
    result = analyze(reference / BACKENDS_2022, new, tmp_path, *leeway)
    assert result.exit_code == exit_code, result.output
    summary = (tmp_path / "pr.md").read_text().splitlines()[0]
    assert counts in summary
    assert summary.endswith("**review needed**." if exit_code else "**no review needed**.")
    assert result.stdout == ""  # the report went to --pr-message
    assert (tmp_path / "out.json").read_bytes() == new.read_bytes()


def test_pr_message_has_a_section_per_finding(reference: Path, tmp_path: Path) -> None:
    new = edited(reference, tmp_path, [INCREASE_50, INCREASE_20, DECREASE, MISSING], add=True)
    result = analyze(reference / BACKENDS_2022, new, tmp_path)
    assert result.exit_code == 1
    message = (tmp_path / "pr.md").read_text()
    assert message.splitlines()[0] == (
        "**Backend disruption** historical data for **4.12** (P99 leeway 30%): 1 P99 increase over leeway, "
        "1 P99 decrease, 1 added, 1 missing, 1 increase within leeway, 336 unchanged — **review needed**.")
    header = ("| Name | Release | From | Arch | Network | Platform | Topology | Job Results | P95 | P95 % change "
              "| P99 | P99 % change |")
    sections = {
        "P99 increases over the 30% leeway (1)":
            "| cache-kube-api-new-connections | 4.12 | 4.11 | amd64 | sdn | azure | ha | 413 | 2.4 | unchanged "
            "| 12 | +50.0% (was 8) |",
        "P99 decreases (1)":
            "| cache-kube-api-reused-connections | 4.12 |   | amd64 | sdn | aws | ha | 890 | 0 | unchanged "
            "| 35 | -50.2% (was 70.27) |",
        "Added: no current data (1)":
            "| kube-api-new-connections | 4.12 |   | amd64 | ovn | nutanix | ha | 150 | 3 | new | 4 | new |",
        "Missing: no new data, current values shown (1)":
            "| cache-kube-api-new-connections | 4.12 |   | amd64 | sdn | metal | ha | 177 | 2 | missing | 90 "
            "| missing |",
    }
    blocks = message.split("<details>")[1:]
    assert len(blocks) == len(sections)
    for block, (title, row) in zip(blocks, sections.items(), strict=True):
        assert f"<summary>{title}</summary>" in block
        assert header in block and row in block
        assert block.rstrip().endswith("</details>")


def test_release_switch_compares_the_new_release_with_the_current_one(reference: Path, tmp_path: Path) -> None:
    rows = read_query_results((reference / BACKENDS_2022).read_bytes(), BACKENDS_2022)
    shift = {"4.12": "4.13", "4.11": "4.12", "4.10": "4.11", "": ""}
    newer = [{**r, "Release": "4.13", "FromRelease": shift[r["FromRelease"]]} for r in rows]
    new = tmp_path / "new.json"
    new.write_bytes(render_query_results(newer))
    result = analyze(reference / BACKENDS_2022, new, tmp_path, "--target-release", "4.13")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.json").read_bytes() == new.read_bytes()
    message = (tmp_path / "pr.md").read_text()
    assert "historical data for **4.13**" in message and f"{len(rows)} unchanged" in message
    assert ("Release switch: the new 4.13 rows are compared with the current 4.12 rows "
            "(releases shifted by one step: 4.12 → 4.13).") in message


def test_unreadable_current_file_exits_3(tmp_path: Path) -> None:
    result = run("analyze-historical-data", "--current", str(tmp_path / "nope.json"), "--new", str(tmp_path / "x"))
    assert result.exit_code == 3
    assert f"error: {tmp_path / 'nope.json'}: cannot read (No such file or directory)" in result.stderr


@pytest.fixture
def hundred_runs(warehouse_url: str, tables) -> str:
    """Enough runs for the default --min-job-runs 100 in one variant, 99 in another (left out)."""
    upgrade = tables.job("4.14/4.14 aws amd64 ovn ha")
    tables.disruption(upgrade, "kube-api-new-connections", [i % 10 for i in range(100)])
    tables.disruption(tables.job("4.14/- gcp amd64 ovn ha"), "kube-api-new-connections", [1] * 99)
    wh = open_warehouse(warehouse_url)
    try:
        tables.load(wh)
    finally:
        wh.close()
    return warehouse_url


def test_new_data_from_the_warehouse(hundred_runs: str, tmp_path: Path) -> None:
    exported = tmp_path / "exported.json"
    export = run("--warehouse", hundred_runs, "export-historical-data", "--release", "4.14", "--now", NOW,
                 "--out", str(exported))
    assert export.exit_code == 0, export.output
    (row,) = read_query_results(exported.read_bytes(), "exported")
    assert (row["Platform"], row["JobRuns"], row["P95"], row["P99"]) == ("aws", 100, "9.0", "9.0")

    same = run("--warehouse", hundred_runs, "analyze-historical-data", "--current", str(exported), "--now", NOW,
               "--output-file", str(tmp_path / "out.json"))
    assert same.exit_code == 0, same.output
    assert (tmp_path / "out.json").read_bytes() == exported.read_bytes()
    assert "0 added, 0 missing, 0 increases within leeway, 1 unchanged — **no review needed**." in same.stdout

    lower = tmp_path / "lower.json"
    lower.write_bytes(render_query_results([{**row, "P99": "6.0"}]))  # 6 → 9 s is +50%
    worse = run("--warehouse", hundred_runs, "analyze-historical-data", "--current", str(lower), "--now", NOW,
                "--output-file", str(tmp_path / "out.json"))
    assert worse.exit_code == 1
    assert "1 P99 increase over leeway" in worse.stdout
    assert "| kube-api-new-connections | 4.14 | 4.14 | amd64 | ovn | aws | ha | 100 | 9 | unchanged | 9 " \
           "| +50.0% (was 6) |" in worse.stdout
