"""Render one planned run as the bytes of its prow files (pure)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from job_run_aggregator.pipeline.sample_data import catalog
from job_run_aggregator.pipeline.sample_data.go_duration import format_go_duration
from job_run_aggregator.pipeline.sample_data.plan import Job, Run, random_uuid
from job_run_aggregator.pipeline.sample_data.shape import (
    ArtifactShape,
    extra_alerts,
    extra_disruptions,
    extra_junit,
    noise_objects,
)

try:
    import orjson

    _HAS_ORJSON = True
except ImportError:  # pragma: no cover - orjson is only a speed-up
    _HAS_ORJSON = False


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(data: object) -> bytes:
    """Two-space indented JSON; orjson is only a speed-up, the bytes are the same without it."""
    if not _HAS_ORJSON:
        return json.dumps(data, indent=2, ensure_ascii=False).encode()
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)


def _prowjob(run: Run, pod: str, rng: random.Random) -> dict[str, object]:
    job = run.job
    labels = {
        "ci.openshift.io/generator": "prowgen", "created-by-prow": "true", "job-release": job.release,
        "prow.k8s.io/build-id": run.build_id, "prow.k8s.io/context": "", "prow.k8s.io/id": pod,
        # Label values are capped at 63 characters; the full name is in the annotation and spec.job.
        "prow.k8s.io/job": job.name[:63].rstrip("-."), "prow.k8s.io/refs.base_ref": "master",
        "prow.k8s.io/refs.org": "openshift", "prow.k8s.io/refs.repo": "release", "prow.k8s.io/type": "periodic",
    }
    if run.is_analysis:
        labels["release.openshift.io/analysis"] = run.tag
    if run.aggregation_id:
        labels["release.openshift.io/aggregation-id"] = run.aggregation_id
    annotations = {"prow.k8s.io/context": "", "prow.k8s.io/job": job.name}
    if run.tag:
        annotations["release.openshift.io/tag"] = run.tag
    if run.from_tag:
        annotations["release.openshift.io/from-tag"] = run.from_tag
    status: dict[str, object] = {
        "startTime": _rfc3339(run.start),
        "pendingTime": _rfc3339(run.start + timedelta(seconds=rng.randint(2, 40))),
    }
    if run.end is not None:
        status["completionTime"] = _rfc3339(run.end)
    status |= {
        "state": run.state,
        "description": {"success": "Job succeeded.", "failure": "Job failed."}.get(run.state, "Job triggered."),
        "url": f"https://prow.ci.openshift.org/view/gs/{catalog.BUCKET}/logs/{job.name}/{run.build_id}",
        "pod_name": pod, "build_id": run.build_id,
    }
    return {
        "kind": "ProwJob", "apiVersion": "prow.k8s.io/v1",
        "metadata": {"name": pod, "namespace": "ci", "uid": random_uuid(rng),
                     "resourceVersion": str(rng.randint(10**8, 10**9)), "generation": 1,
                     "creationTimestamp": _rfc3339(run.start), "labels": labels, "annotations": annotations},
        "spec": {"type": "periodic", "agent": "kubernetes", "cluster": run.cluster, "namespace": "ci",
                 "job": job.name, "report": True,
                 "extra_refs": [{"org": "openshift", "repo": "release", "base_ref": "master"}],
                 "decoration_config": {"timeout": "4h0m0s", "grace_period": "30m0s", "skip_cloning": True,
                                       "gcs_configuration": {"bucket": catalog.BUCKET, "path_strategy": "single"}}},
        "status": status,
    }


def _variant_factor(job: Job) -> float:
    # Release factor: only so that two releases of one variant get different percentiles.
    return (catalog.PLATFORM_FACTOR.get(job.platform, 1.0) * catalog.ARCH_FACTOR.get(job.architecture, 1.0)
            * (1.3 if job.network == "sdn" else 1.0) * (1.0 + 0.1 * (int(job.release.split(".")[1]) % 3 - 1)))


def _seconds_to_ns(seconds: float, rng: random.Random) -> int:
    # Older monitors sampled once a second; newer ones report milliseconds.
    if rng.random() < 0.3:
        return max(1, round(seconds)) * 1_000_000_000
    return max(1, round(seconds * 1000)) * 1_000_000


def _disruptions(run: Run, is_upgrade_phase: bool, rng: random.Random,
                 planted: tuple[tuple[str, float], ...] = ()) -> dict[str, dict[str, dict[str, object]]]:
    job = run.job
    entries: dict[str, dict[str, object]] = {}
    base = _variant_factor(job) * run.factor * (1.4 if job.upgrade == "minor" else 1.0)
    for backend, chance, typical, lb_type, protocol, target in catalog.BACKENDS:
        if backend == "service-load-balancer-with-pdb" and job.platform not in catalog.CLOUD_LOAD_BALANCERS:
            continue
        for connection in ("New", "Reused"):
            name = f"{backend}-{connection.lower()}-connections"
            p, scale = chance * (1.0 if connection == "New" else 0.7), typical * base
            if not is_upgrade_phase:
                p, scale = p * 0.08, scale * 0.5
            elif job.topology == "single" and backend in catalog.API_BACKENDS:
                p, scale = 0.97, scale * 10  # one control-plane node: the API is down while it reboots
            elif job.topology == "external" and backend in catalog.API_BACKENDS:
                p = p * 0.5
            nanoseconds, messages = 0, None
            if rng.random() < min(0.98, p * base**0.5):
                seconds = min(1800.0, scale * rng.paretovariate(1.5) * rng.uniform(0.3, 1.0))
                nanoseconds = _seconds_to_ns(seconds, rng)
                messages = [
                    f"backend-disruption-name/{name} connection/{connection.lower()} disruption/openshift-tests "
                    f"stopped responding to GET requests over {connection.lower()} connections: "
                    + rng.choice(catalog.FAILURE_REASONS).format(a=rng.randint(0, 255), b=rng.randint(1, 254))
                    for _ in range(rng.randint(1, 3))
                ]
            for backend_name, seconds in planted:  # after every draw, so the rest of the bucket is unchanged
                if backend_name == name:
                    nanoseconds = max(0, nanoseconds + round(seconds * 1e9))
            entries[name] = {
                "Name": name, "BackendName": backend, "ConnectionType": connection,
                "DisruptedDuration": format_go_duration(nanoseconds), "DisruptionMessages": messages,
                "LoadBalancerType": lb_type, "Protocol": protocol, "TargetAPI": target,
            }
    return {"BackendDisruptions": entries}


def _alerts(run: Run, is_upgrade_phase: bool, rng: random.Random) -> dict[str, list[dict[str, str]]]:
    job = run.job
    fired: list[dict[str, str]] = []
    factor = _variant_factor(job) * (3.0 if job.topology == "single" else 1.0)
    for name, namespace, level, p_upgrade, p_plain, typical, only_on in catalog.ALERTS:
        p = (p_upgrade if is_upgrade_phase else p_plain) * factor**0.5
        if (only_on and only_on != job.platform) or rng.random() >= min(0.9, p):
            continue
        seconds = min(10_800.0, typical * rng.paretovariate(1.3) * rng.uniform(0.2, 1.0))
        fired.append({"Name": name, "Namespace": namespace, "Level": level,
                      "Duration": format_go_duration(_seconds_to_ns(seconds, rng))})
    return {"Alerts": fired}


def _cluster_data(run: Run, rng: random.Random) -> dict[str, object]:
    job = run.job
    updated = "Y" if job.upgrade and rng.random() < (0.97 if job.upgrade == "minor" else 0.85) else "N"
    region = rng.choice(catalog.REGIONS.get(job.platform, ("",)))
    return {
        "Platform": job.platform, "Architecture": job.architecture, "Network": job.network,
        "NetworkStack": "IPv6" if "ipv6" in job.test else "Dual" if "dualstack" in job.test else "IPv4",
        "Topology": job.topology, "Release": job.release, "FromRelease": job.from_release,
        "CloudRegion": region, "CloudZone": f"{region}{rng.choice('abc')}" if region else "",
        "ClusterVersionHistory": [t for t in (run.tag, run.from_tag if job.upgrade else "") if t],
        "MasterNodesUpdated": updated,
    }


def _junit(run: Run, rng: random.Random) -> bytes:
    job = run.job
    ip_mode = "ipv6" if "ipv6" in job.test else "ipv4"
    cases = [(name, when not in ("", "upgrade", job.platform, ip_mode)) for name, when in catalog.TESTS
             if when != "upgrade" or job.upgrade]
    children = [(name, False) for name in catalog.UPGRADE_TESTS] if job.upgrade else []
    runnable = [name for name, skipped in cases + children if not skipped]
    failed = set(rng.sample(runnable, rng.randint(1, 3))) if run.state == "failure" else set()
    # Planted tests (payload runs only): always failing, or failing then passing on a retry in the same run.
    known = {name for name, _ in cases}
    cases += [(name, False) for name in dict.fromkeys(run.failing_tests + run.flaky_tests) if name not in known]
    failed |= set(run.failing_tests)

    def render(name: str, skipped: bool, indent: str) -> str:
        if name in run.flaky_tests and not skipped:
            reason = escape(f"fail [github.com/openshift/origin/test/extended/util]: {name} flaked")
            return (f'{indent}<testcase name={quoteattr(name)} time="1"><failure message="">{reason}</failure>'
                    f'</testcase>\n{indent}<testcase name={quoteattr(name)} time="2"></testcase>')
        head = f'{indent}<testcase name={quoteattr(name)} time="{0 if skipped else rng.randint(1, 400)}">'
        if skipped:
            return head + '<skipped message="skipped: not applicable to this cluster"></skipped></testcase>'
        if name in failed:
            reason = escape(f"fail [github.com/openshift/origin/test/extended/util]: {name} failed")
            return head + f'<failure message="">{reason}</failure><system-out>{reason}</system-out></testcase>'
        return head + "</testcase>"

    def suite(name: str, members: list[tuple[str, bool]], nested: str, indent: str) -> str:
        skipped = sum(s for _, s in members)
        failures = sum(n in failed for n, _ in members)
        body = "\n".join(render(n, s, indent + "  ") for n, s in members)
        return (f'{indent}<testsuite name="{name}" tests="{len(members)}" skipped="{skipped}" '
                f'failures="{failures}" time="{rng.randint(1800, 7200)}">\n{body}\n{nested}{indent}</testsuite>\n')

    nested = suite("Cluster upgrade", children, "", "    ") if children else ""
    outer = suite("openshift-tests-upgrade" if job.upgrade else "openshift-tests", cases, nested, "  ")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n{outer}</testsuites>\n'.encode()


def render_run(run: Run, seed: int, shape: ArtifactShape | None = None) -> list[tuple[str, bytes]]:
    """The files of one run, as paths relative to the run folder.

    `shape` adds what real runs also carry (thousands of junit cases, thousands of unrelated objects), drawn from
    generators of their own: without it, or with its zero defaults, the bytes are those of earlier versions.
    """
    rng = random.Random(f"{seed}:{run.job.name}:{run.build_id}")
    pod = random_uuid(rng)
    commit = f"{rng.getrandbits(160):040x}"
    files = [("prowjob.json", _json(_prowjob(run, pod, rng))),
             ("started.json", _json({"timestamp": int(run.start.timestamp()), "repos": {"openshift/release": "master"},
                                     "repo-version": commit, "repo-commit": commit}))]
    if run.end is None:
        return files
    passed = run.state == "success"
    files.append(("finished.json", _json({
        "timestamp": int(run.end.timestamp()), "passed": passed, "result": "SUCCESS" if passed else "FAILURE",
        "revision": commit, "metadata": {"work-namespace": f"ci-op-{rng.getrandbits(32):08x}", "pod": pod,
                                         "repo": "openshift/release", "job-version": run.tag}})))
    if run.is_install_failure:
        return files
    junit = f"artifacts/{run.job.test}/openshift-e2e-test/artifacts/junit/"
    last = run.end - timedelta(seconds=rng.randint(240, 720))
    phases = [(run.start + (run.end - run.start) * 0.55, True), (last, False)] if run.job.upgrade else [(last, False)]
    for i, (moment, is_upgrade_phase) in enumerate(phases):
        stamp = f"{moment:%Y%m%d-%H%M%S}"
        # A planted rise goes into the last file only (the run's row rises by exactly that); a planted fall
        # applies to every file, floored at zero.
        planted = run.planted if i == len(phases) - 1 else tuple(p for p in run.planted if p[1] < 0)
        entries = _disruptions(run, is_upgrade_phase, rng, planted)
        alerts = _alerts(run, is_upgrade_phase, rng)
        if shape is not None and shape.backends:
            entries["BackendDisruptions"].update(extra_disruptions(run, seed, shape.backends, i))
        if shape is not None and shape.alerts:
            alerts["Alerts"] += extra_alerts(run, seed, shape.alerts, i)
        disruption = _json(entries)
        if run.is_malformed and i == 0:
            disruption = disruption[: len(disruption) // 2]  # cut mid-document: not JSON any more
        files.append((f"{junit}backend-disruption_{stamp}.json", disruption))
        files.append((f"{junit}alerts_{stamp}.json", _json(alerts)))
    stamp = f"{last:%Y%m%d-%H%M%S}"
    files.append((f"{junit}cluster-data_{stamp}.json", _json(_cluster_data(run, rng))))
    files.append((f"{junit}junit_e2e_{stamp}.xml", _junit(run, rng)))
    if shape is not None and shape.junit_cases:
        files.append((f"{junit}junit_e2e_parallel_{stamp}.xml", extra_junit(run, seed, shape.junit_cases)))
    if shape is not None and shape.noise_objects:
        files += noise_objects(run, seed, shape.noise_objects)
    return files
