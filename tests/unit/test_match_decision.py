"""Specification of the text stage's decision: a renamed alert's words cover a runbook's name,
siblings are told apart by the qualifier the alert carries, and teams' abbreviations read as the
runbooks' words. The model is the offline MiniLM the packages ship."""

from __future__ import annotations

import numpy as np
import pytest

from runbooks.matching.decision import choose_sibling, decide, siblings
from runbooks.matching.embeddings import OfflineMiniLM
from runbooks.matching.index import RunbookIndex
from runbooks.matching.lexical import NameCoverage
from runbooks.matching.results import Weights
from runbooks.matching.text import tokens
from runbooks.model import Risk, Runbook, Step


def runbook(rid: str, description: str, command: str = "true") -> Runbook:
    name = rid.rsplit("/", 1)[-1]
    return Runbook(id=rid, title=name, description=description,
                   steps=[Step(id="s1", title="Look", position=1, command=command, risk=Risk.green, risk_reason="read-only")])


GRPC = "etcd gRPC requests are slow: the 99th percentile of request latency is above 150 ms."
CATALOG = [
    runbook("etcd/etcdGRPCRequestsSlow", GRPC),
    runbook("etcd/etcdGRPCReadRequestsSlow", GRPC.replace("requests", "read (Range) requests")),
    runbook("etcd/etcdGRPCWriteRequestsSlow", GRPC.replace("requests", "write (Txn, Put) requests")),
    runbook("ceph/CephClusterNearFull", "Storage cluster utilization has crossed 75% and will become read only at 85%."),
    runbook("ceph/CephClusterCriticallyFull", "Storage cluster utilization has crossed 80% and will become read only at 85%."),
    runbook("general/TargetDown", "One or more Prometheus scrape targets are down (up == 0)."),
    runbook("prometheus/PrometheusTargetLimitHit",
            "Prometheus has dropped targets because some scrape configs have exceeded the targets limit."),
    runbook("kubernetes/KubeAPIDown", "The Kubernetes API server has disappeared from Prometheus target discovery."),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> RunbookIndex:
    idx = RunbookIndex(embedder=OfflineMiniLM(tmp_path_factory.mktemp("model")))
    idx.rebuild([(rb, 1) for rb in CATALOG])
    return idx


@pytest.mark.parametrize(("alert", "summary", "expected"), [
    ("EtcdSlowReads", "etcd read requests are slow", "etcd/etcdGRPCReadRequestsSlow"),
    ("EtcdWritesSlow", "etcd gRPC write requests take long", "etcd/etcdGRPCWriteRequestsSlow"),
    ("EtcdRequestsSlow", "etcd gRPC requests are slow", "etcd/etcdGRPCRequestsSlow"),  # neither: the general one
])
def test_the_sibling_whose_qualifier_the_alert_carries_wins(index: RunbookIndex, alert: str, summary: str,
                                                              expected: str) -> None:
    outcome = index.match({"alertname": alert}, {"summary": summary})
    assert outcome.runbook_id == expected, outcome.reason
    if expected.endswith("GRPCRequestsSlow"):
        assert "general one" in outcome.candidates[0].reason


def test_near_and_critical_siblings_read_the_severity_when_the_words_say_neither(index: RunbookIndex) -> None:
    said = {"alertname": "StoragePoolFull"}
    critical = index.match({**said, "severity": "critical"}, {"summary": "Ceph cluster storage is full"})
    warning = index.match({**said, "severity": "warning"}, {"summary": "Ceph cluster storage is full"})
    assert critical.runbook_id == "ceph/CephClusterCriticallyFull", critical.reason
    assert warning.runbook_id == "ceph/CephClusterNearFull", warning.reason
    assert "severity 'critical'" in critical.candidates[0].reason
    words_win = index.match({**said, "severity": "warning"}, {"summary": "Ceph cluster critically full"})
    assert words_win.runbook_id == "ceph/CephClusterCriticallyFull"


def test_a_renamed_alert_that_covers_a_runbooks_name_finds_it(index: RunbookIndex) -> None:
    outcome = index.match({"alertname": "ScrapeTargetsDown", "job": "node-exporter"},
                          {"summary": "Prometheus cannot scrape some node-exporter targets"})
    assert outcome.runbook_id == "general/TargetDown", outcome.reason
    assert "name 1.00" in outcome.candidates[0].reason


def test_team_abbreviations_read_as_the_runbooks_words(index: RunbookIndex) -> None:
    assert tokens("K8sApiserverUnreachable")[:3] == tokens("kube api server")
    assert tokens("HostNetworkTxErrs") == tokens("host network transmit errors")
    outcome = index.match({"alertname": "K8sApiserverUnreachable"}, {"summary": "the API server does not answer"})
    assert outcome.runbook_id == "kubernetes/KubeAPIDown", outcome.reason


def test_name_coverage_weighs_rare_words_more() -> None:
    names = [tokens("TargetDown"), tokens("KubeletDown"), tokens("KubeAPIDown"), tokens("PrometheusTargetLimitHit")]
    covered = NameCoverage(names).scores(tokens("scrape targets down"))
    assert covered[0] == pytest.approx(1.0) and covered[3] < 0.5
    assert 0 < covered[1] < 0.5  # 'down' is in three names: it covers little of KubeletDown alone


def test_siblings_differ_by_one_qualifier_and_ambiguity_is_not_resolved() -> None:
    read, write, general = (frozenset(tokens(n)) for n in
                            ("etcdGRPCReadRequestsSlow", "etcdGRPCWriteRequestsSlow", "etcdGRPCRequestsSlow"))
    assert siblings(read, general) and siblings(read, write)
    assert not siblings(frozenset(tokens("NodeRAIDDegraded")), frozenset(tokens("NodeRAIDDiskFailure")))
    names = [read, write, general]
    assert choose_sibling([0, 1, 2], names, set(tokens("slow read and write requests"))) is None  # both said
    assert choose_sibling([0, 1], names, set(tokens("slow requests"))) is None  # neither, and no general one


def test_the_decision_runs_asks_or_answers_none_from_score_and_lead() -> None:
    names = [frozenset({"a", "b"}), frozenset({"c", "d"}), frozenset({"e", "f"})]
    keys = ["ab", "cd", "ef"]
    w = Weights(sure=0.6, threshold=0.45, margin=0.05, ask=0.4)

    def verdict(scores: list[float]) -> str:
        combined = np.array(scores)
        return decide(np.argsort(-combined), combined, names, keys, set(), w).verdict

    assert verdict([0.65, 0.64, 0.1]) == "run"  # sure, whatever the next
    assert verdict([0.50, 0.40, 0.1]) == "run"  # above the threshold and well ahead
    assert verdict([0.50, 0.47, 0.1]) == "ask"  # above the threshold but close: a person chooses
    assert verdict([0.42, 0.10, 0.1]) == "ask"  # below the threshold, above the floor
    assert verdict([0.30, 0.10, 0.1]) == "none"


def test_an_alert_a_runbook_documents_besides_its_own_matches_it_by_name() -> None:
    documents_two = runbook("kube-apiserver/ExtremelyHighIndividualControlPlaneCPU",
                            "CPU utilization on a single control plane node is high.")
    documents_two.alerts.append("HighOverallControlPlaneCPU")
    idx = RunbookIndex(embedder=None)
    idx.rebuild([(documents_two, 1), *[(rb, 1) for rb in CATALOG]])
    assert idx.exact_match({"alertname": "HighOverallControlPlaneCPU"}) == documents_two.id
