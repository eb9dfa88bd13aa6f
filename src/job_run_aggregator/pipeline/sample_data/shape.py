"""What makes sample runs real-world sized: thousands of junit cases and of unrelated objects per run (pure).

Real e2e runs report 3,000–5,000 junit cases and hold thousands of objects the uploaders never read (pod logs,
must-gather, gather-extra). The demo keeps the small default (none of these); benchmarks ask for them. Each is
drawn from a generator seeded by the run's identity and its own label, so asking for them leaves every other
file's bytes unchanged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from job_run_aggregator.pipeline.sample_data.go_duration import format_go_duration
from job_run_aggregator.pipeline.sample_data.plan import Run

_AREAS = ("api-machinery", "apps", "auth", "cli", "network", "node", "storage", "instrumentation", "etcd",
          "builds", "imageregistry", "operator", "arch", "scheduling", "cluster-lifecycle")
_VERBS = ("should be available", "should succeed", "should not be degraded", "should roll out", "should report",
          "should reconcile", "should serve", "should be reachable")
_SUITES = ("[Suite:openshift/conformance/parallel]", "[Suite:openshift/conformance/parallel] [Suite:k8s]",
           "[Suite:openshift/conformance/serial]")
_NAMESPACES = ("openshift-etcd", "openshift-kube-apiserver", "openshift-monitoring", "openshift-ingress",
               "openshift-machine-config-operator", "openshift-authentication", "openshift-image-registry",
               "openshift-sdn", "openshift-ovn-kubernetes", "openshift-console", "openshift-dns")
_FOLDERS = ("gather-extra/artifacts/pods", "gather-must-gather/artifacts/must-gather/namespaces",
            "gather-extra/artifacts/nodes", "gather-audit-logs/artifacts/audit-logs", "ipi-install-install/artifacts")


@dataclass(frozen=True, slots=True)
class ArtifactShape:
    """Extra content per finished run: `junit_cases` more junit test cases, `noise_objects` unrelated files,
    `backends` more disruption backends in each disruption file, `alerts` more kinds of alert that may fire."""

    junit_cases: int = 0
    noise_objects: int = 0
    backends: int = 0
    alerts: int = 0

    def __post_init__(self) -> None:
        if min(self.junit_cases, self.noise_objects, self.backends, self.alerts) < 0:
            raise ValueError("junit_cases, noise_objects, backends and alerts must be ≥ 0")


# The realistic profile: a typical parallel e2e run's junit size, and a gathered run folder's object count.
BENCHMARK_SHAPE = ArtifactShape(junit_cases=3000, noise_objects=0)
NOISY_SHAPE = ArtifactShape(junit_cases=0, noise_objects=2000)


# Newer releases monitor many more backends (pod/host/service network paths, the CI cluster's liveness) and
# fire more kinds of alert: enough of them give the ~57 disruption and ~76 alert rows per run of real volume.
_PATHS = ("host-to-host", "host-to-pod", "host-to-service", "pod-to-host", "pod-to-pod", "pod-to-service")
_ALERT_STEMS = ("KubeDeploymentReplicasMismatch", "KubePodNotReady", "KubeContainerWaiting", "ClusterOperatorDown",
                "ClusterOperatorDegraded", "TargetDown", "KubeletDown", "NodeNotReady", "AlertmanagerFailedReload",
                "PodDisruptionBudgetAtLimit", "KubeJobFailed", "KubeDaemonSetRolloutStuck")


def backend_name(i: int) -> tuple[str, str]:
    """The i-th extra backend and its connection type: (name, "New"|"Reused")."""
    path = _PATHS[(i // 2) % len(_PATHS)]
    ip = ("ipv4", "ipv6")[(i // (2 * len(_PATHS))) % 2]
    family = i // (4 * len(_PATHS))
    connection = ("New", "Reused")[i % 2]
    return f"{path}-{ip}{f'-{family}' if family else ''}", connection


def alert_kind(i: int) -> tuple[str, str, str]:
    """The i-th extra alert kind: (Name, Namespace, Level)."""
    stem = _ALERT_STEMS[i % len(_ALERT_STEMS)]
    round_ = i // len(_ALERT_STEMS)
    return (f"{stem}{round_ if round_ else ''}", _NAMESPACES[i % len(_NAMESPACES)], ("Warning", "Critical")[i % 2])


def extra_disruptions(run: Run, seed: int, count: int, phase: int) -> dict[str, dict[str, object]]:
    """`count` more BackendDisruptions entries for one disruption file (the `phase`-th of the run)."""
    rng = random.Random(f"{seed}:{run.job.name}:{run.build_id}:backends:{phase}")
    out: dict[str, dict[str, object]] = {}
    for i in range(count):
        backend, connection = backend_name(i)
        name = f"{backend}-{connection.lower()}-connections"
        milliseconds = rng.randint(1, 4000) if rng.random() < 0.1 else 0
        out[name] = {"Name": name, "BackendName": backend, "ConnectionType": connection,
                     "DisruptedDuration": format_go_duration(milliseconds * 1_000_000),
                     "DisruptionMessages": None, "LoadBalancerType": "", "Protocol": "", "TargetAPI": ""}
    return out


def extra_alerts(run: Run, seed: int, count: int, phase: int) -> list[dict[str, str]]:
    """Alerts of `count` more kinds for one alerts file; each fires with a small chance."""
    rng = random.Random(f"{seed}:{run.job.name}:{run.build_id}:alerts:{phase}")
    out = []
    for i in range(count):
        if rng.random() < 0.08:
            name, namespace, level = alert_kind(i)
            out.append({"Name": name, "Namespace": namespace, "Level": level,
                        "Duration": format_go_duration(rng.randint(30, 1800) * 1_000_000_000)})
    return out


def case_name(i: int) -> str:
    """The i-th synthetic test name (the same for every run, as real test names are)."""
    area = _AREAS[i % len(_AREAS)]
    return (f"[sig-{area}] {area.replace('-', ' ')} case {i:05d} {_VERBS[(i // 7) % len(_VERBS)]} "
            f"{_SUITES[(i // 3) % len(_SUITES)]}")


def extra_junit(run: Run, seed: int, cases: int) -> bytes:
    """A second junit file of `cases` test cases: ~10% skipped (the same tests each time), rare failures."""
    rng = random.Random(f"{seed}:{run.job.name}:{run.build_id}:junit")
    failing = run.state == "failure"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name="openshift-tests" tests="{cases}" time="{rng.randint(1800, 7200)}">']
    for i in range(cases):
        name = quoteattr(case_name(i))
        if i % 10 == 9:
            lines.append(f'  <testcase name={name} time="0"><skipped message="skipped"></skipped></testcase>')
        elif failing and rng.random() < 0.002:
            lines.append(f'  <testcase name={name} time="{rng.randint(1, 400)}"><failure message="">fail '
                         f'[github.com/openshift/origin/test/extended]: case {i} failed</failure></testcase>')
        else:
            lines.append(f'  <testcase name={name} time="{rng.randint(1, 400)}"></testcase>')
    lines.append("</testsuite>\n")
    return "\n".join(lines).encode()


def noise_objects(run: Run, seed: int, count: int) -> list[tuple[str, bytes]]:
    """`count` files no uploader reads: pod logs, must-gather and audit pieces, a short log line or two each."""
    rng = random.Random(f"{seed}:{run.job.name}:{run.build_id}:noise")
    test = run.job.test
    out = []
    for i in range(count):
        folder = _FOLDERS[i % len(_FOLDERS)]
        namespace = _NAMESPACES[rng.randrange(len(_NAMESPACES))]
        name = f"artifacts/{test}/{folder}/{namespace}_pod-{i:05d}-{rng.getrandbits(24):06x}.log"
        out.append((name, f"I1128 12:00:{i % 60:02d}.000000 1 {namespace} started\n".encode()))
    return out
