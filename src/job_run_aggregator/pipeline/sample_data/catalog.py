"""The fixed vocabulary of the sample bucket: job templates, backends, alerts and tests of the real CI."""

from __future__ import annotations

BUCKET = "test-platform-results"
# + start epoch ms * 1000: 19 digits for every date from 1970 to 2200, so lexicographic order = numeric order.
BUILD_ID_BASE = 1_600_000_000_000_000_000

# (repo-branch-stream prefix, test name, platform, architecture, network, topology); {r} = release, {p} = the
# release before it. Ordered so that the first dozen already cover every platform, architecture, network,
# topology and upgrade kind the analyses group by.
TEMPLATES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("release-master-ci-{r}-upgrade-from-stable-{p}", "e2e-aws-ovn-upgrade", "aws", "amd64", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-gcp-sdn", "gcp", "amd64", "sdn", "ha"),
    ("multiarch-master-nightly-{r}", "ocp-e2e-aws-ovn-arm64", "aws", "arm64", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-aws-ovn-single-node", "aws", "amd64", "ovn", "single"),
    ("release-master-ci-{r}", "e2e-azure-ovn-upgrade", "azure", "amd64", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-metal-ipi-ovn-ipv6", "metal", "amd64", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-vsphere-ovn", "vsphere", "amd64", "ovn", "ha"),
    ("multiarch-master-nightly-{r}", "ocp-e2e-upgrade-aws-ovn-arm64", "aws", "arm64", "ovn", "ha"),
    ("release-master-ci-{r}", "e2e-aws-upgrade-ovn-single-node", "aws", "amd64", "ovn", "single"),
    ("release-master-ci-{r}-upgrade-from-stable-{p}", "e2e-azure-sdn-upgrade", "azure", "amd64", "sdn", "ha"),
    ("hypershift-main-periodics-{r}", "conformance-aws-ovn", "aws", "amd64", "ovn", "external"),
    ("release-master-ci-{r}", "e2e-aws-ovn-serial", "aws", "amd64", "ovn", "ha"),
    ("release-master-ci-{r}", "e2e-aws-ovn-upgrade", "aws", "amd64", "ovn", "ha"),
    ("multiarch-master-nightly-{r}", "ocp-e2e-ovn-remote-libvirt-ppc64le", "libvirt", "ppc64le", "ovn", "ha"),
    ("multiarch-master-nightly-{r}", "ocp-e2e-ovn-remote-libvirt-s390x", "libvirt", "s390x", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-metal-ipi-ovn-dualstack", "metal", "amd64", "ovn", "ha"),
    ("release-master-ci-{r}-upgrade-from-stable-{p}", "e2e-gcp-ovn-upgrade", "gcp", "amd64", "ovn", "ha"),
    ("release-master-ci-{r}-upgrade-from-stable-{p}", "e2e-vsphere-ovn-upgrade", "vsphere", "amd64", "ovn", "ha"),
    ("release-master-nightly-{r}-upgrade-from-stable-{p}", "e2e-metal-ipi-upgrade-ovn-ipv6",
     "metal", "amd64", "ovn", "ha"),
    ("release-master-ci-{r}", "e2e-gcp-sdn-upgrade", "gcp", "amd64", "sdn", "ha"),
    ("release-master-ci-{r}", "e2e-azure-sdn", "azure", "amd64", "sdn", "ha"),
    ("release-master-nightly-{r}", "e2e-ovirt-sdn", "ovirt", "amd64", "sdn", "ha"),
    ("release-master-ci-{r}-upgrade-from-stable-{p}", "e2e-aws-sdn-upgrade", "aws", "amd64", "sdn", "ha"),
    ("multiarch-master-nightly-{r}-upgrade-from-stable-{p}", "ocp-e2e-aws-sdn-arm64", "aws", "arm64", "sdn", "ha"),
    ("release-master-nightly-{r}", "e2e-aws-ovn-single-node-serial", "aws", "amd64", "ovn", "single"),
    ("release-master-nightly-{r}", "e2e-metal-ipi-sdn", "metal", "amd64", "sdn", "ha"),
    ("release-master-ci-{r}", "e2e-gcp-ovn", "gcp", "amd64", "ovn", "ha"),
    ("release-master-ci-{r}", "e2e-azure-ovn", "azure", "amd64", "ovn", "ha"),
    ("release-master-nightly-{r}", "e2e-vsphere-sdn", "vsphere", "amd64", "sdn", "ha"),
    ("release-master-nightly-{r}-upgrade-from-stable-{p}", "e2e-aws-upgrade-ovn-single-node",
     "aws", "amd64", "ovn", "single"),
    ("multiarch-master-nightly-{r}", "ocp-e2e-azure-ovn-arm64", "azure", "arm64", "ovn", "ha"),
    ("release-master-ci-{r}", "e2e-aws-sdn", "aws", "amd64", "sdn", "ha"),
)

# Backend -> (chance of any disruption in an upgrade phase, typical seconds, LoadBalancerType, Protocol, TargetAPI).
BACKENDS: tuple[tuple[str, float, float, str, str, str], ...] = (
    ("kube-api", 0.30, 1.5, "external-lb", "http1", "kube-api"),
    ("openshift-api", 0.40, 2.0, "external-lb", "http1", "openshift-api"),
    ("oauth-api", 0.45, 2.5, "external-lb", "http1", "oauth-api"),
    ("cache-kube-api", 0.15, 1.0, "external-lb", "http1", "kube-api"),
    ("cache-openshift-api", 0.20, 1.2, "external-lb", "http1", "openshift-api"),
    ("cache-oauth-api", 0.20, 1.5, "external-lb", "http1", "oauth-api"),
    ("ingress-to-console", 0.60, 3.0, "", "", ""),
    ("ingress-to-oauth-server", 0.60, 3.0, "", "", ""),
    ("image-registry", 0.55, 4.0, "", "", ""),
    ("service-load-balancer-with-pdb", 0.50, 2.5, "", "", ""),
)
API_BACKENDS = frozenset(b[0] for b in BACKENDS[:6])
CLOUD_LOAD_BALANCERS = frozenset({"aws", "gcp", "azure"})
PLATFORM_FACTOR = {"aws": 1.0, "gcp": 1.4, "azure": 2.0, "metal": 0.7, "vsphere": 1.6, "ovirt": 1.8, "libvirt": 1.2}
ARCH_FACTOR = {"amd64": 1.0, "arm64": 1.15, "ppc64le": 1.3, "s390x": 1.3}
FAILURE_REASONS = (
    "dial tcp 10.0.{a}.{b}:6443: connect: connection refused",
    "net/http: timeout awaiting response headers",
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "http2: client connection lost",
    "EOF",
)

# (Name, Namespace, Level, chance in an upgrade phase, chance otherwise, typical seconds, only on platform).
ALERTS: tuple[tuple[str, str, str, float, float, float, str], ...] = (
    ("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Critical", 0.05, 0.01, 120, ""),
    ("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Warning", 0.15, 0.03, 300, ""),
    ("etcdMembersDown", "openshift-etcd", "Critical", 0.30, 0.01, 60, ""),
    ("etcdGRPCRequestsSlow", "openshift-etcd", "Critical", 0.10, 0.05, 60, ""),
    ("etcdHighNumberOfFailedGRPCRequests", "openshift-etcd", "Critical", 0.08, 0.02, 60, ""),
    ("etcdMemberCommunicationSlow", "openshift-etcd", "Warning", 0.20, 0.05, 120, ""),
    ("etcdNoLeader", "openshift-etcd", "Critical", 0.10, 0.005, 30, ""),
    ("etcdHighFsyncDurations", "openshift-etcd", "Critical", 0.10, 0.05, 90, ""),
    ("etcdHighCommitDurations", "openshift-etcd", "Warning", 0.10, 0.05, 90, ""),
    ("etcdInsufficientMembers", "openshift-etcd", "Critical", 0.10, 0.002, 30, ""),
    ("etcdHighNumberOfLeaderChanges", "openshift-etcd", "Warning", 0.25, 0.03, 300, ""),
    ("KubeClientErrors", "openshift-kube-controller-manager", "Warning", 0.10, 0.05, 600, ""),
    ("KubePersistentVolumeErrors", "openshift-monitoring", "Critical", 0.02, 0.02, 60, ""),
    ("MCDDrainError", "openshift-machine-config-operator", "Warning", 0.15, 0.0, 600, ""),
    ("PrometheusOperatorWatchErrors", "openshift-monitoring", "Warning", 0.10, 0.05, 300, ""),
    ("VSphereOpenshiftNodeHealthFail", "openshift-cluster-storage-operator", "Warning", 0.20, 0.20, 900, "vsphere"),
)

_SUITE = "[Suite:openshift/conformance/parallel]"
_MINIMAL = "[Conformance] [Suite:openshift/conformance/parallel/minimal] [Suite:k8s]"
# (test name, when it applies: "" always, "upgrade" = listed only for upgrades, "skip" = always skipped,
# a platform or IP mode = skipped elsewhere).
TESTS: tuple[tuple[str, str], ...] = (
    ("[sig-api-machinery] disruption/kube-api connection/new should be available throughout the test", ""),
    ("[sig-api-machinery] disruption/kube-api connection/reused should be available throughout the test", ""),
    ("[sig-api-machinery] disruption/openshift-api connection/new should be available throughout the test", ""),
    ("[sig-api-machinery] disruption/oauth-api connection/new should be available throughout the test", ""),
    ("[sig-network-edge] disruption/ingress-to-console connection/new should be available throughout the test", ""),
    ("[sig-network-edge] disruption/ingress-to-oauth-server connection/new "
     "should be available throughout the test", ""),
    ("[sig-imageregistry] disruption/image-registry connection/new should be available throughout the test", ""),
    ("[sig-arch] Check if alerts are firing during or after upgrade success", "upgrade"),
    (f"[sig-etcd] etcd leader changes are not excessive [Late] {_SUITE}", ""),
    ("[sig-instrumentation][Late] Alerts shouldn't report any unexpected alerts in firing or pending state "
     f"{_SUITE}", ""),
    ("[sig-network] pods should successfully create sandboxes by other", ""),
    ("[sig-node] static pods should start after being created", ""),
    ("[sig-arch] Monitor cluster while tests execute", ""),
    (f"[sig-apps] Deployment deployment should support rollover {_MINIMAL}", ""),
    (f"[sig-node] Pods should get a host IP [NodeConformance] {_MINIMAL}", ""),
    (f"[sig-network] Services should serve a basic endpoint from pods  {_MINIMAL}", ""),
    ("[sig-network] Networking should provide Internet connection for containers [Feature:Networking-IPv4] "
     f"[Skipped:Disconnected] {_SUITE} [Suite:k8s]", "ipv4"),
    ("[sig-network] Networking should provide Internet connection for containers [Feature:Networking-IPv6] "
     "[Experimental][LinuxOnly] [Disabled:Broken] [Skipped:Disconnected] [Suite:k8s]", "skip"),
    ("[sig-storage] In-tree Volumes [Driver: aws] [Testpattern: Dynamic PV (default fs)] provisioning "
     f"should provision storage with defaults {_SUITE} [Suite:k8s]", "aws"),
    ("[sig-storage] In-tree Volumes [Driver: gcepd] [Testpattern: Dynamic PV (default fs)] provisioning "
     f"should provision storage with defaults {_SUITE} [Suite:k8s]", "gcp"),
    (f"[sig-cli] oc adm must-gather runs successfully [apigroup:config.openshift.io] {_SUITE}", ""),
)
UPGRADE_TESTS = (
    "[sig-cluster-lifecycle] Cluster completes upgrade",
    "[sig-mco] Machine config pools complete upgrade",
    "[sig-cluster-lifecycle] cluster upgrade should be fast",
)
REGIONS = {"aws": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"), "gcp": ("us-central1", "us-east1"),
            "azure": ("centralus", "eastus2", "westus")}
CLUSTERS = {"aws": ("build01", "build03", "build05"), "gcp": ("build02", "build04")}
