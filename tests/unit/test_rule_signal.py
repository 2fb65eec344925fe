"""The PromQL of the rule that fired (Prometheus's generatorURL) is a matching signal: its metric
names as words, its label matchers' values, and what its functions mean."""

from __future__ import annotations

from urllib.parse import quote_plus

from runbooks.matching.text import alert_query, rule_expression, rule_words
from services.sources import REGISTRY, Delivery

EXPR = ('max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", '
        'job="kube-state-metrics"}[5m]) >= 1')
URL = f"http://prometheus:9090/graph?g0.expr={quote_plus(EXPR)}&g0.tab=1"


def test_the_rule_expression_is_read_from_the_generator_url() -> None:
    assert rule_expression(URL) == EXPR
    assert rule_expression(None) == "" and rule_expression("http://grafana/d/abc") == ""


def test_metric_names_matcher_values_and_functions_become_words() -> None:
    said = rule_words(EXPR)
    assert "kube pod container status waiting reason" in said and "crash loop back off" in said
    assert "max_over_time" not in said and "5m" not in said
    predicted = rule_words('predict_linear(node_filesystem_avail_bytes{fstype!=""}[6h], 4*3600) < 0')
    assert "filling up" in predicted and "node filesystem avail bytes" in predicted
    grouped = rule_words("sum by (namespace, pod) (rate(http_requests_total[5m])) > 10")
    assert "namespace" not in grouped and "http requests total" in grouped


def test_the_rule_adds_to_the_alerts_words_and_the_source_keeps_its_url() -> None:
    plain = alert_query({"alertname": "PaymentsPodRestartLoop"}, {})
    with_rule = alert_query({"alertname": "PaymentsPodRestartLoop"}, {}, EXPR)
    assert set(with_rule.lexical) > set(plain.lexical)
    body = ('{"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "X"}, "generatorURL": "'
            + URL + '"}]}').encode()
    from runbooks.settings import Settings

    [alert] = REGISTRY["alertmanager"](Delivery(source="alertmanager", body=body, headers={}, query={}), Settings())
    assert alert.generator_url == URL


def test_a_teams_words_for_a_condition_bring_the_runbooks_words() -> None:
    from runbooks.matching.thesaurus import thesaurus_words

    assert "crash looping" in thesaurus_words("payments pod restart loop")
    assert "filling up out of space" in thesaurus_words("inode exhaustion predicted")  # a forecast
    assert "almost out of space" in thesaurus_words("postgres data volume running out")  # a level, now
    assert "replicas mismatch" in thesaurus_words("deployment replicas missing")
    assert "control plane" in thesaurus_words("master node cpu saturated")
    assert thesaurus_words("checkout requests high") == ""
    query = alert_query({"alertname": "PaymentsPodRestartLoop"}, {})
    assert {"crash", "loop"} <= set(query.lexical)


def test_more_of_a_teams_words_and_abbreviations_bring_the_runbooks_words() -> None:
    from runbooks.matching.text import tokens
    from runbooks.matching.thesaurus import thesaurus_words

    assert {"stuck", "rollout"} <= set(thesaurus_words("daemon set update stalled").split())
    assert "maxed out" in thesaurus_words("checkout autoscaler at ceiling")
    assert "hpa" in thesaurus_words("orders autoscaler maxed")
    assert "hpa" not in thesaurus_words("cluster autoscaler max nodes reached")  # nodes, not pod replicas
    assert "high number conntrack entries used" in thesaurus_words("conntrack table nearly full")
    assert "failed to send alerts" in thesaurus_words("alertmanager cannot notify")
    assert "insecure version" in thesaurus_words("legacy tls traffic detected")
    assert tokens("ds pods on wrong nodes")[:2] == ["daemon", "set"]
    assert tokens("PDBBelowMinAvailable")[:3] == ["pod", "disruption", "budget"]
    assert "target down" in thesaurus_words("node exporter down on worker-3")
    assert "file descriptor limit" in thesaurus_words("host file descriptors exhausting")
    assert "file descriptor limit" not in thesaurus_words("rabbitmq file descriptors near limit")  # not the host's
    assert "version mismatch" in thesaurus_words("control plane version skew")
    assert "target down" in thesaurus_words("service monitor endpoints down")
    assert "latency" not in thesaurus_words("nginx ingress error spike")  # a spike is a trend, not a latency
