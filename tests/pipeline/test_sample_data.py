"""generate-sample-data: a realistic, deterministic prow bucket (DESIGN §2, §3)."""

from __future__ import annotations

import json
import re
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.pipeline.sample_data import (
    PayloadSpec,
    SampleSummary,
    format_go_duration,
    generate_sample_data,
    sample_job_names,
)
from job_run_aggregator.pipeline.sample_data.render import _json

from paths import REFERENCE
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
JUNIT = "openshift-e2e-test/artifacts/junit"
GO_DURATION = re.compile(r"^(0s|(\d+h)?(\d+m)?\d+(\.\d+)?(s|ms|µs|ns))$")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PAYLOAD_TAG = re.compile(r"^4\.1[34]\.0-0\.(ci|nightly)-\d{4}-\d{2}-\d{2}-\d{6}$")
LONGEST_RUN = timedelta(hours=4)


def go_seconds(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(h|ms|µs|ns|m|s)", text))


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass(frozen=True, slots=True)
class SampleRun:
    job: str
    build_id: str
    folder: Path
    prowjob: dict[str, object]

    @property
    def status(self) -> dict[str, str]:
        return self.prowjob["status"]  # type: ignore[return-value]

    @property
    def labels(self) -> dict[str, str]:
        return self.prowjob["metadata"]["labels"]  # type: ignore[index,no-any-return]

    @property
    def annotations(self) -> dict[str, str]:
        return self.prowjob["metadata"]["annotations"]  # type: ignore[index,no-any-return]

    @property
    def is_upgrade(self) -> bool:
        return "upgrade" in self.job

    def artifacts(self, pattern: str) -> list[Path]:
        return sorted(self.folder.glob(f"artifacts/*/{JUNIT}/{pattern}"))


def sample_runs(root: Path) -> Iterator[SampleRun]:
    for job in sorted((root / "logs").iterdir()):
        for folder in sorted(p for p in job.iterdir() if p.is_dir()):
            yield SampleRun(job.name, folder.name, folder, json.loads((folder / "prowjob.json").read_bytes()))


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleSummary, list[SampleRun]]:
    root = tmp_path_factory.mktemp("bucket")
    summary = generate_sample_data(root, now=NOW, payload=PayloadSpec(runs=6), malformed=3)
    return root, summary, list(sample_runs(root))


def small(root: Path, **overrides: object) -> SampleSummary:
    arguments: dict[str, object] = {"jobs": 5, "days": 2, "now": NOW, "payload": PayloadSpec(runs=3), "malformed": 1}
    return generate_sample_data(root, **(arguments | overrides))  # type: ignore[arg-type]


# --- determinism ------------------------------------------------------------------------------------------------

def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    small(tmp_path / "a")
    small(tmp_path / "b")
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(first) > 100
    assert first == second


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    small(tmp_path / "a", seed=1)
    small(tmp_path / "b", seed=2)
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert set(first) != set(second)
    common = set(first) & set(second)
    assert sum(first[p] != second[p] for p in common) >= len(common) / 2


def test_more_jobs_leave_the_first_jobs_unchanged(tmp_path: Path) -> None:
    small(tmp_path / "few", jobs=2, payload=None, malformed=0)
    small(tmp_path / "many", jobs=4, payload=None, malformed=0)
    few, many = tree(tmp_path / "few"), tree(tmp_path / "many")
    assert few == {path: data for path, data in many.items() if path in few}
    assert len(many) > len(few)


# --- layout and file formats --------------------------------------------------------------------------------------

def test_summary_counts_what_is_on_disk(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    root, summary, runs = bucket
    files = [p for p in root.rglob("*") if p.is_file()]
    assert summary.files == len(files)
    assert summary.total_bytes == sum(p.stat().st_size for p in files)
    assert summary.runs == len(runs)
    assert summary.jobs == 12
    assert sorted(summary.job_names) == sorted(p.name for p in (root / "logs").iterdir())
    assert list(summary.job_names) == sample_job_names(12)
    assert summary.unfinished == sum(r.status["state"] == "pending" for r in runs)
    assert json.loads(json.dumps(summary.as_dict()))["job_names"] == list(summary.job_names)


def test_every_job_has_4_to_8_runs_a_day(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    for job in {r.job for r in runs}:
        periodic = [r for r in runs if r.job == job and "release.openshift.io/aggregation-id" not in r.labels]
        starts = [parse_time(r.status["startTime"]) for r in periodic]
        assert 4 * 21 <= len(periodic) <= 8 * 21, job
        assert NOW - timedelta(days=21) <= min(starts) and max(starts) < NOW, job


def test_prowjob_has_the_real_shape(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    for run in runs:
        pj, status = run.prowjob, run.status
        assert (pj["apiVersion"], pj["kind"]) == ("prow.k8s.io/v1", "ProwJob")
        assert pj["spec"]["job"] == run.job  # type: ignore[index]
        assert pj["spec"]["cluster"] in {"build01", "build02", "build03", "build04", "build05"}  # type: ignore[index]
        assert status["build_id"] == run.build_id
        assert status["url"].endswith(f"/logs/{run.job}/{run.build_id}")
        assert status["state"] in {"success", "failure", "pending"}
        assert RFC3339_Z.match(status["startTime"])
        assert ("completionTime" in status) == (status["state"] != "pending")
        if "completionTime" in status:
            assert RFC3339_Z.match(status["completionTime"])
            assert parse_time(status["startTime"]) < parse_time(status["completionTime"]) <= NOW
        for tag in (run.annotations.get("release.openshift.io/tag"), run.labels.get("release.openshift.io/analysis")):
            assert tag is None or PAYLOAD_TAG.match(tag), tag
        if run.labels.get("release.openshift.io/analysis"):
            assert run.labels["release.openshift.io/analysis"] == run.annotations["release.openshift.io/tag"]
    assert any("release.openshift.io/analysis" in r.labels for r in runs)
    assert any("release.openshift.io/tag" in r.annotations for r in runs)
    assert any("release.openshift.io/tag" not in r.annotations for r in runs)
    from_tags = {r.annotations["release.openshift.io/from-tag"] for r in runs
                 if "release.openshift.io/from-tag" in r.annotations}
    assert any(re.fullmatch(r"4\.1[23]\.\d+", t) for t in from_tags)  # minor upgrades start from a stable release
    assert any(PAYLOAD_TAG.match(t) for t in from_tags)  # micro upgrades start from an earlier payload


def test_started_and_finished_agree_with_prowjob(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    for run in runs:
        started = json.loads((run.folder / "started.json").read_bytes())
        assert started["timestamp"] == int(parse_time(run.status["startTime"]).timestamp())
        finished_path = run.folder / "finished.json"
        if run.status["state"] == "pending":
            assert not finished_path.exists()
            assert not (run.folder / "artifacts").exists()
            continue
        finished = json.loads(finished_path.read_bytes())
        assert finished["timestamp"] == int(parse_time(run.status["completionTime"]).timestamp())
        assert finished["passed"] == (run.status["state"] == "success")
        assert finished["result"] == ("SUCCESS" if finished["passed"] else "FAILURE")
        assert {"revision", "metadata"} <= finished.keys()


def test_build_ids_are_equal_length_and_increase_with_start_time(
    bucket: tuple[Path, SampleSummary, list[SampleRun]],
) -> None:
    root, _, runs = bucket
    assert {len(r.build_id) for r in runs} == {19}
    assert len({r.build_id for r in runs}) == len(runs)
    for job in {r.job for r in runs}:
        ids = [r.build_id for r in sorted((r for r in runs if r.job == job), key=lambda r: r.status["startTime"])]
        assert ids == sorted(ids) == sorted(ids, key=int)
        assert (root / "logs" / job / "latest-build.txt").read_text() == ids[-1]


def test_unfinished_runs_are_only_the_most_recent(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, summary, runs = bucket
    unfinished = [r for r in runs if r.status["state"] == "pending"]
    assert 0 < len(unfinished) < len(runs) / 50
    for run in unfinished:
        assert parse_time(run.status["startTime"]) > NOW - LONGEST_RUN
    assert summary.unfinished == len(unfinished)


def test_backend_disruption_files_have_the_real_format(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    root, summary, runs = bucket
    reference = {row["BackendName"] for row in json.loads((REFERENCE / "backend_query_results_2025-current.json")
                                                            .read_bytes())}
    malformed = {root / p for p in summary.malformed_files}
    names, durations = set(), []
    for run in runs:
        files = run.artifacts("backend-disruption_*.json")
        if run.status["state"] == "pending" or not files:
            continue
        assert len(files) == (2 if run.is_upgrade else 1), run.folder
        for path in files:
            assert re.fullmatch(r"backend-disruption_\d{8}-\d{6}\.json", path.name)
            if path in malformed:
                continue
            entries = json.loads(path.read_bytes())["BackendDisruptions"]
            for key, entry in entries.items():
                assert entry["Name"] == key == f"{entry['BackendName']}-{entry['ConnectionType'].lower()}-connections"
                assert GO_DURATION.match(entry["DisruptedDuration"]), entry["DisruptedDuration"]
                assert (entry["DisruptionMessages"] is None) == (entry["DisruptedDuration"] == "0s")
                assert {"LoadBalancerType", "Protocol", "TargetAPI"} <= entry.keys()
                durations.append(go_seconds(entry["DisruptedDuration"]))
            names |= set(entries)
    assert len(names) == 20
    assert names <= reference
    assert {"kube-api-new-connections", "cache-oauth-api-reused-connections",
            "ingress-to-console-new-connections", "service-load-balancer-with-pdb-reused-connections"} <= names
    zero_share = sum(d == 0 for d in durations) / len(durations)
    assert 0.6 < zero_share < 0.95  # mostly zero
    nonzero = [d for d in durations if d]
    assert max(nonzero) > 20 * statistics.median(nonzero)  # heavy tail
    assert any(d < 1 for d in nonzero) and any(d >= 60 for d in nonzero)  # "750ms" and "1m2.5s" forms


def run_disruption(run: SampleRun, backend: str) -> int | None:
    """DisruptionSeconds of one run as DESIGN §3.1 derives it: ceil per file, summed."""
    files = run.artifacts("backend-disruption_*.json")
    if not files:
        return None
    total = 0
    for path in files:
        entry = json.loads(path.read_bytes())["BackendDisruptions"][backend]
        total += -int(-go_seconds(entry["DisruptedDuration"]) // 1)
    return total


def test_disruption_depends_on_the_variant(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    root, summary, runs = bucket
    malformed = {(root / p).parents[5] for p in summary.malformed_files}  # the run folders
    by_job: dict[str, list[int]] = {}
    for run in runs:
        if run.folder not in malformed and (seconds := run_disruption(run, "kube-api-new-connections")) is not None:
            by_job.setdefault(run.job, []).append(seconds)

    def share_disrupted(jobs: list[str]) -> float:
        values = [v for job in jobs for v in by_job[job]]
        return sum(v > 0 for v in values) / len(values)

    upgrade = [j for j in by_job if "upgrade" in j]
    plain = [j for j in by_job if "upgrade" not in j]
    assert share_disrupted(upgrade) > 3 * share_disrupted(plain)
    single = next(j for j in upgrade if "single-node" in j)
    ha = next(j for j in upgrade if "single-node" not in j and "aws" in j)
    assert statistics.quantiles(by_job[single], n=20)[-1] > 5 * statistics.quantiles(by_job[ha], n=20)[-1]


def test_alert_files_report_a_subset_of_real_alerts(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    reference = {row["AlertName"] for row in json.loads((REFERENCE / "alerts_query_results_2022-12.json").read_bytes())}
    reported: list[frozenset[str]] = []
    for run in runs:
        files = run.artifacts("alerts_*.json")
        assert len(files) == len(run.artifacts("backend-disruption_*.json"))
        for path in files:
            alerts = json.loads(path.read_bytes())["Alerts"]
            for alert in alerts:
                assert alert.keys() == {"Name", "Namespace", "Level", "Duration"}
                assert alert["Level"] in {"Warning", "Critical", "Info", "Unknown"}
                assert GO_DURATION.match(alert["Duration"]) and alert["Duration"] != "0s"
            reported.append(frozenset(a["Name"] for a in alerts))
    seen = frozenset().union(*reported)
    assert seen <= reference
    assert len(seen) >= 12
    assert any(not names for names in reported) and len(set(reported)) > 50


def test_cluster_data_says_whether_masters_were_updated(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    updated: dict[bool, list[str]] = {True: [], False: []}
    for run in runs:
        files = run.artifacts("cluster-data_*.json")
        assert len(files) == (1 if run.artifacts("backend-disruption_*.json") else 0)
        for path in files:
            data = json.loads(path.read_bytes())
            assert {"Platform", "Architecture", "Network", "Topology", "Release", "FromRelease"} <= data.keys()
            assert data["Release"] in run.job
            updated[run.is_upgrade].append(data["MasterNodesUpdated"])
    assert set(updated[False]) == {"N"}
    assert set(updated[True]) == {"Y", "N"} and updated[True].count("Y") > 0.8 * len(updated[True])


def test_junit_has_nested_suites_and_failures_only_in_failed_runs(
    bucket: tuple[Path, SampleSummary, list[SampleRun]],
) -> None:
    _, _, runs = bucket
    checked = set()
    for run in runs:
        files = run.artifacts("junit_e2e_*.xml")
        if not files:
            continue
        (path,) = files
        root = ET.fromstring(path.read_bytes())
        assert root.tag == "testsuites"
        (suite,) = root.findall("testsuite")
        cases = suite.findall(".//testcase")
        assert 18 <= len(cases) <= 25
        assert int(suite.get("tests", "")) == len(suite.findall("testcase"))
        assert bool(suite.findall("testsuite")) == run.is_upgrade
        failures = [c for c in cases if c.find("failure") is not None]
        skipped = [c for c in cases if c.find("skipped") is not None]
        assert bool(failures) == (run.status["state"] == "failure")
        assert skipped and not set(failures) & set(skipped)
        checked.add((run.is_upgrade, run.status["state"]))
    assert checked == {(True, "success"), (True, "failure"), (False, "success"), (False, "failure")}


def test_some_failed_runs_never_reached_the_tests(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, _, runs = bucket
    bare = [r for r in runs if r.status["state"] != "pending" and not (r.folder / "artifacts").exists()]
    assert bare and {r.status["state"] for r in bare} == {"failure"}


# --- payload and malformed runs ---------------------------------------------------------------------------------

def test_payload_runs_share_tag_and_aggregation_id(bucket: tuple[Path, SampleSummary, list[SampleRun]]) -> None:
    _, summary, runs = bucket
    payload = [r for r in runs if "release.openshift.io/aggregation-id" in r.labels]
    assert len(payload) == summary.payload_runs == 6
    assert {r.job for r in payload} == {summary.job_names[0]}
    assert {r.labels["release.openshift.io/aggregation-id"] for r in payload} == {summary.aggregation_id}
    assert {r.annotations["release.openshift.io/tag"] for r in payload} == {summary.payload_tag}
    assert {r.labels["release.openshift.io/analysis"] for r in payload} == {summary.payload_tag}
    assert PAYLOAD_TAG.match(summary.payload_tag) and summary.payload_tag.startswith("4.14.")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", summary.aggregation_id)
    assert {r.status["state"] for r in payload} <= {"success", "failure"}
    others = [r for r in runs if r.annotations.get("release.openshift.io/tag") == summary.payload_tag]
    assert others == payload


def test_payload_can_name_job_tag_and_worse_disruption(tmp_path: Path) -> None:
    job = sample_job_names(5)[4]
    tag = "4.14.0-0.nightly-2026-11-27-101010"
    summary = small(tmp_path, payload=PayloadSpec(runs=4, job=job, tag=tag, aggregation_id="agg-1",
                                                  disruption_factor=50.0), malformed=0)
    payload = [r for r in sample_runs(tmp_path) if "release.openshift.io/aggregation-id" in r.labels]
    assert (summary.payload_tag, summary.aggregation_id) == (tag, "agg-1")
    assert {(r.job, r.annotations["release.openshift.io/tag"], r.labels["release.openshift.io/aggregation-id"])
            for r in payload} == {(job, tag, "agg-1")}
    assert sum(run_disruption(r, "kube-api-new-connections") or 0 for r in payload) > 100


def test_malformed_runs_have_one_unparseable_disruption_file(
    bucket: tuple[Path, SampleSummary, list[SampleRun]],
) -> None:
    root, summary, _ = bucket
    assert len(summary.malformed_files) == 3
    for relative in summary.malformed_files:
        path = root / relative
        assert path.name.startswith("backend-disruption_")
        with pytest.raises(json.JSONDecodeError):
            json.loads(path.read_bytes())
        for sibling in path.parent.glob("*.json"):
            if sibling != path:
                json.loads(sibling.read_bytes())


# --- job names --------------------------------------------------------------------------------------------------

def test_job_names_are_varied_like_the_real_list() -> None:
    names = sample_job_names(12)
    assert len(set(names)) == 12 and all(n.startswith("periodic-ci-openshift-") for n in names)
    for needle in ("aws", "gcp", "azure", "metal", "vsphere", "arm64", "single-node", "hypershift", "ipv6",
                   "upgrade-from-stable", "-4.13-", "-4.14-", "-ovn", "-sdn", "serial"):
        assert any(needle in n for n in names), needle
    assert any("upgrade" not in n for n in names)


def test_job_names_are_real_ci_jobs() -> None:
    real = {line.strip() for line in (REFERENCE / "job_names_2023-02.txt").read_text().splitlines()}
    names = sample_job_names(32, releases=("4.13",))
    assert set(names) <= real


def test_many_job_names_cycle_with_suffixes() -> None:
    names = sample_job_names(150)
    assert len(set(names)) == 150
    assert not any(re.search(r"-\d$", n) for n in names[:64])
    assert names[64] == names[0] + "-2" and names[128] == names[0] + "-3"


# --- errors and helpers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"jobs": 0}, "sample data: jobs (0) and days (21) must be at least 1", id="no-jobs"),
        pytest.param({"days": 0}, "sample data: jobs (12) and days (0) must be at least 1", id="no-days"),
        pytest.param({"runs_per_day": (5, 4)},
                     "sample data: runs per day 5-4 must satisfy 1 <= low <= high <= 1000", id="runs-per-day"),
        pytest.param({"payload": PayloadSpec(runs=0)},
                     "sample data: a payload needs at least 1 run started in the past, got 0 runs 5.0 hours ago",
                     id="payload-no-runs"),
        pytest.param({"payload": PayloadSpec(job="periodic-ci-nope")},
                     "sample data: payload job 'periodic-ci-nope' is not among the 12 generated jobs; "
                     "pick one of sample_job_names()", id="payload-unknown-job"),
        pytest.param({"malformed": -1}, "sample data: malformed (-1) must not be negative", id="malformed-negative"),
        pytest.param({"jobs": 1, "days": 1, "runs_per_day": (1, 1), "malformed": 5},
                     "sample data: malformed (5) exceeds the 1 runs with artifacts", id="malformed-too-many"),
        pytest.param({"releases": ("4.x",)},
                     "sample data: release '4.x' is not of the form <major>.<minor>, e.g. 4.14", id="bad-release"),
        pytest.param({"releases": ("4.14", "4.14")},
                     "sample data: releases ['4.14', '4.14'] must be one or more distinct versions", id="twice"),
    ],
)
def test_bad_arguments_are_config_errors(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        generate_sample_data(tmp_path, now=NOW - timedelta(hours=12), **arguments)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        pytest.param(0, "0s", id="zero"),
        pytest.param(100, "100ns", id="ns"),
        pytest.param(1_500, "1.5µs", id="us"),
        pytest.param(750_000_000, "750ms", id="ms"),
        pytest.param(2_400_000_000, "2.4s", id="fraction"),
        pytest.param(2_000_000_000, "2s", id="whole-seconds"),
        pytest.param(60_000_000_000, "1m0s", id="minute"),
        pytest.param(62_500_000_000, "1m2.5s", id="minutes"),
        pytest.param(3_600_000_000_000, "1h0m0s", id="hour"),
        pytest.param(3_723_500_000_000, "1h2m3.5s", id="hours"),
        pytest.param(1_000_000_001, "1.000000001s", id="nanosecond-precision"),
        pytest.param(-1_500_000_000, "-1.5s", id="negative"),
    ],
)
def test_format_go_duration_matches_go(nanoseconds: int, text: str) -> None:
    assert format_go_duration(nanoseconds) == text


def test_json_bytes_do_not_depend_on_orjson() -> None:
    data = {"BackendDisruptions": {"a": {"DisruptedDuration": "1.5µs", "DisruptionMessages": None, "x": [1, True]}},
            "Alerts": [], "metadata": {}}
    assert _json(data) == json.dumps(data, indent=2, ensure_ascii=False).encode()


def test_realistic_shape_adds_junit_cases_and_noise_and_leaves_the_other_bytes_alone(tmp_path: Path) -> None:
    from job_run_aggregator.artifacts.parse import parse_junit
    from job_run_aggregator.pipeline.sample_data import ArtifactShape

    plain, shaped = tmp_path / "plain", tmp_path / "shaped"
    generate_sample_data(plain, jobs=2, days=1, seed=4, now=NOW)
    summary = generate_sample_data(shaped, jobs=2, days=1, seed=4, now=NOW,
                                   shape=ArtifactShape(junit_cases=3000, noise_objects=150))
    before = {p.relative_to(plain): p.read_bytes() for p in plain.rglob("*") if p.is_file()}
    after = {p.relative_to(shaped): p.read_bytes() for p in shaped.rglob("*") if p.is_file()}
    assert {k: after[k] for k in before} == before  # every demo file unchanged
    added = set(after) - set(before)
    extra_junit = [p for p in added if p.name.startswith("junit_e2e_parallel_")]
    noise = [p for p in added if p.suffix == ".log"]
    finished_with_tests = sum(1 for p in before if p.name.startswith("junit_e2e_"))
    assert len(extra_junit) == finished_with_tests > 0
    assert len(noise) == 150 * finished_with_tests and len(added) == len(extra_junit) + len(noise)
    assert summary.files == len(after)
    cases = parse_junit(after[extra_junit[0]], str(extra_junit[0]))
    assert 2600 <= len(cases) <= 2700  # 3,000 minus the ~10% skipped
    assert len({(c.suite, c.name) for c in cases}) == len(cases)
    # Noise is never a file an uploader reads.
    from job_run_aggregator.artifacts.runs import KINDS, wanted_object

    assert not any(wanted_object(str(p), "", KINDS, True) for p in noise)


def test_extra_backends_and_alerts_reach_real_volume_and_only_add_entries(tmp_path: Path) -> None:
    """38 more backends and 61 more alert kinds: the ~57 disruption and ~76 alert rows per run of real CI."""
    from job_run_aggregator.artifacts.parse.durations import parse_duration_ns
    from job_run_aggregator.artifacts.buckets.local import LocalBucket
    from job_run_aggregator.ingest.upload import upload
    from job_run_aggregator.jobs.primer import prime_job_table
    from job_run_aggregator.pipeline.sample_data import ArtifactShape
    from job_run_aggregator.warehouse.duckdb import DuckDBWarehouse

    plain, shaped = tmp_path / "plain", tmp_path / "shaped"
    generate_sample_data(plain, jobs=6, days=3, seed=4, now=NOW)
    generate_sample_data(shaped, jobs=6, days=3, seed=4, now=NOW, shape=ArtifactShape(backends=38, alerts=61))
    before = {p.relative_to(plain): p.read_bytes() for p in plain.rglob("*") if p.is_file()}
    after = {p.relative_to(shaped): p.read_bytes() for p in shaped.rglob("*") if p.is_file()}
    assert set(after) == set(before)
    for path, data in before.items():
        if path.name.startswith("backend-disruption_") and after[path] != data and data.rstrip().endswith(b"}"):
            old, new = json.loads(data)["BackendDisruptions"], json.loads(after[path])["BackendDisruptions"]
            assert {k: new[k] for k in old} == old and len(new) == len(old) + 38
            for entry in new.values():  # written as Go's Duration.String writes them ("1.5s", not "1500ms")
                text = entry["DisruptedDuration"]
                assert format_go_duration(parse_duration_ns(text)) == text
        elif path.name.startswith("alerts_"):
            old_alerts, new_alerts = json.loads(data)["Alerts"], json.loads(after[path])["Alerts"]
            assert new_alerts[: len(old_alerts)] == old_alerts
            for alert in new_alerts:
                assert format_go_duration(parse_duration_ns(alert["Duration"])) == alert["Duration"]
        elif not path.name.startswith("backend-disruption_"):
            assert after[path] == data, path  # prowjob, junit, cluster-data: unchanged
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.create_tables()
    prime_job_table(wh, "".join(f"{n}\n" for n in sample_job_names(6)))
    upload(LocalBucket(shaped), wh, now=lambda: NOW)
    runs = wh.query("SELECT count(*) AS n FROM BackendDisruption_JobRuns")[0]["n"]
    disruption = wh.query("SELECT count(*) AS n FROM BackendDisruption")[0]["n"] / runs
    alerts = wh.query("SELECT count(*) AS n FROM Alerts")[0]["n"] / wh.query(
        "SELECT count(*) AS n FROM Alerts_JobRuns")[0]["n"]
    wh.close()
    # Alert rows grow toward ~76 as more kinds have fired for the release (zeros for every kind ever seen).
    assert 50 <= disruption <= 58 and 60 <= alerts <= 78, (disruption, alerts)
