"""Specification of the prose importer: the runbooks teams already have become runnable steps.

Prose runbooks hide commands in inline code and terminal transcripts, decisions in sentences and
placeholders in every spelling. These tests pin down what a step is, how it is titled, where it sits,
what fills its holes, and that nothing unsafe or unrunnable is ever handed to the engine as a command.
"""

from __future__ import annotations


import pytest

from runbooks.authoring.prose import parse_prose
from runbooks.authoring.prose_commands import inline_command, read_block
from runbooks.authoring.reader import parse_file, parse_markdown
from runbooks.authoring.structured import is_structured, parse_structured
from runbooks.authoring.variables import (
    WELL_KNOWN_LABELS,
    convert_placeholders,
    normalize_label,
    unresolved,
)
from runbooks.errors import RunbookParseError
from runbooks.model import Risk, Runbook, Step
from runbooks.rendering.templating import render_command
from support.paths import REPO, corpus

CORPUS = corpus() or REPO.parent / "shared" / "corpus"

# An excerpt of prometheus-operator's KubePodCrashLooping runbook (Apache-2.0), front matter included.
CRASH_LOOPING = """\
---
title: Kube Pod Crash Looping
weight: 20
---

# KubePodCrashLooping

## Meaning

Pod is in CrashLoop which means the app dies or is unresponsive and
kubernetes tries to restart it automatically.

## Diagnosis

- Check template via `kubectl -n $NAMESPACE get pod $POD`.
- Check pod events via `kubectl -n $NAMESPACE describe pod $POD`.
- Check pod logs via `kubectl -n $NAMESPACE logs $POD -c $CONTAINER`
- Check pod template parameters such as:
  - pod priority
  - readiness and liveness probes may be incorrect

## Mitigation

Talk with developers or read documentation about the app, ensure to define
sane default values to start the app.
"""


def prose(body: str, **kwargs: str) -> Runbook:
    runbook = parse_markdown(body, **kwargs)
    assert runbook.format == "prose"
    return runbook


def ctx(**labels: str) -> dict[str, dict[str, str]]:
    return {"labels": labels, "annotations": {}, "params": {}}


def only(runbook: Runbook) -> Step:
    [step] = runbook.steps
    return step


# --- a real runbook, end to end ---------------------------------------------------------------------


def test_kube_pod_crash_looping_becomes_three_diagnosis_steps() -> None:
    rb = prose(CRASH_LOOPING, path="kubernetes/KubePodCrashLooping.md", default_id="kubernetes/KubePodCrashLooping")
    assert rb.id == "kubernetes/KubePodCrashLooping" and rb.title == "Kube Pod Crash Looping"
    assert rb.description.startswith("Pod is in CrashLoop")
    assert [s.title for s in rb.steps] == ["Check template", "Check pod events", "Check pod logs"]
    assert [s.line for s in rb.steps] == [15, 16, 17]  # lines of the file, front matter counted
    assert {s.section for s in rb.steps} == {"diagnosis"}
    assert {s.risk for s in rb.steps} == {Risk.green}
    assert rb.steps[0].command == "kubectl -n {{ labels.namespace }} get pod {{ labels.pod }}"
    assert rb.steps[2].variables == ["labels.namespace", "labels.pod", "labels.container"]
    assert rb.prerequisites == ["tool: kubectl"]
    assert all(s.target == "local" for s in rb.steps)


def test_inline_commands_are_found_and_placeholders_converted() -> None:
    rb = prose("## Diagnosis\n\nCheck the pod with `kubectl -n $NAMESPACE get pod $POD` and look at `NotReady`.\n")
    step = only(rb)
    assert step.command == "kubectl -n {{ labels.namespace }} get pod {{ labels.pod }}"
    assert step.title == "Check the pod"
    assert render_command(step.command, ctx(namespace="prod", pod="web-1")).argv == [
        "kubectl", "-n", "prod", "get", "pod", "web-1"]
    assert inline_command("# ceph config set global log_to_file true") == "ceph config set global log_to_file true"


@pytest.mark.parametrize(
    "code",
    ["NotReady", "etcdctl", "oc logs", "kubectl apply/create/delete/patch", "oc describe pod ...",
     "node_filesystem_avail_bytes", "/etc/kubernetes/manifests", "kind: Deployment", "up == 0"],
)
def test_code_that_is_not_a_complete_command_is_not_a_step(code: str) -> None:
    assert inline_command(code) is None
    assert prose(f"## Diagnosis\n\nLook at `{code}` first.\n").steps == []


# --- code blocks -------------------------------------------------------------------------------------


def test_console_block_keeps_prompted_commands_and_drops_output() -> None:
    text = """\
## Diagnosis

Check the nodes and the pods:

```console
$ oc get nodes
NAME       STATUS   ROLES
master-0   Ready    master
$ oc get pods -n openshift-etcd \\
    -l app=etcd
etcd-0     1/1      Running
```
"""
    step = only(prose(text))
    assert step.command == "oc get nodes\noc get pods -n openshift-etcd -l app=etcd"
    assert step.title == "Check the nodes and the pods" and step.language == "shell"
    assert step.line == 6  # the first command, not the fence


def test_root_prompts_comments_and_continuation_prompts() -> None:
    block = read_block("bash", "# Get the pods\n$ oc get pods\n# chroot /host\n$ cat <<EOF | oc apply -f -\n"
                               "> kind: ConfigMap\n> EOF\nconfigmap/x created\n")
    assert block is not None and block.comments == ["Get the pods"]
    assert block.commands == ["oc get pods", "chroot /host", "cat <<EOF | oc apply -f -\nkind: ConfigMap\nEOF"]


@pytest.mark.parametrize(
    "text",
    [
        "## Diagnosis\n\nRun it:\n\n```shell\noc get pods\n```\n\nExample output:\n\n```shell\nNAME READY\n```\n",
        "## Diagnosis\n\nRun it:\n\n```shell\noc get pods\n```\n\n```text\noc get pods is printed here\n```\n",
        ("## Diagnosis\n\nRun it:\n\n```shell\noc get pods\n```\n\nThe output should contain `notAfter`:\n\n"
         "```shell\nnotAfter=Aug  6 13:11:20 2025 GMT\n```\n"),
    ],
)
def test_output_samples_are_not_steps(text: str) -> None:
    assert only(prose(text)).command == "oc get pods"


def test_block_languages() -> None:
    text = """\
## Diagnosis

Query the metrics:

```
sum by (namespace) (rate(container_cpu_usage_seconds_total{namespace="x"}[5m]))
```

Check the table:

```sql
SELECT count(*) FROM pg_stat_activity;
```

## Mitigation

Apply this configuration:

```yaml
apiVersion: v1
kind: ConfigMap
```
"""
    assert [(s.language, s.section) for s in prose(text).steps] == [
        ("promql", "diagnosis"), ("sql", "diagnosis"), ("yaml", "mitigation")]


def test_go_templates_stay_literal_and_render_verbatim() -> None:
    text = ("## Diagnosis\n\nList the annotations:\n\n```console\n$ oc get nodes -n $NAMESPACE -o template "
            "--template='{{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}'\n```\n")
    step = only(prose(text))
    assert step.manual is False and step.variables == ["labels.namespace"]
    rendered = render_command(step.command or "", ctx(namespace="prod"))
    assert rendered.argv == ["oc", "get", "nodes", "-n", "prod", "-o", "template",
                             "--template={{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}"]
    assert "{{ '{{' }}" not in step.risk_reason  # the reason shows the command as written


# --- what the sentences say ----------------------------------------------------------------------------


def test_conditional_step() -> None:
    text = ("## Mitigation\n\nIf the pod is OOMKilled, raise the limit:\n\n```shell\n"
            "kubectl -n $NAMESPACE set resources deployment $DEPLOYMENT --limits=memory=2Gi\n```\n")
    step = only(prose(text))
    assert step.condition == "the pod is OOMKilled"
    assert step.title == "Raise the limit" and step.section == "mitigation" and step.risk is Risk.yellow


def test_a_heading_that_is_a_condition_applies_to_its_steps_and_keeps_the_section() -> None:
    text = ("## Mitigation\n\n### If the diagnosis shows 403 errors\n\nRestart the collector:\n\n"
            "```shell\noc delete pod -n openshift-logging -l component=collector\n```\n")
    step = only(prose(text))
    assert step.condition == "the diagnosis shows 403 errors" and step.section == "mitigation"
    assert step.risk is Risk.red


@pytest.mark.parametrize(
    ("heading", "section"),
    [("Diagnosis", "diagnosis"), ("Troubleshooting", "diagnosis"), ("Investigation", "diagnosis"),
     ("Check the disks", "diagnosis"), ("Mitigation", "mitigation"), ("Resolution", "mitigation"),
     ("Remediation", "mitigation"), ("Workaround", "mitigation"), ("Recovery", "mitigation"),
     ("Verify", "verification"), ("Validation", "verification"), ("Background", "other")],
)
def test_section_comes_from_the_nearest_telling_heading(heading: str, section: str) -> None:
    step = only(prose(f"## {heading}\n\n### Details\n\nLook:\n\n```shell\ndf -h\n```\n"))
    assert step.section == section


def test_meaning_and_impact_hold_no_steps() -> None:
    text = "## Meaning\n\nThe alert fires when:\n\n```promql\nup == 0\n```\n\n## Impact\n\nRun `kubectl get pods -A`.\n"
    assert prose(text).steps == []


def test_prerequisites_from_a_section_phrases_and_tools() -> None:
    text = """\
## Prerequisites

- Access to the `openshift-etcd` namespace

## Diagnosis

Login to the cluster. You need `jq` and cluster-admin rights.

```shell
oc get pods -n openshift-etcd -o json | jq '.items[].metadata.name'
```
"""
    assert prose(text).prerequisites == [
        "Access to the openshift-etcd namespace", "logged in to the cluster", "cluster-admin permissions",
        "tool: jq", "tool: oc"]


def test_rollback_command_and_rollback_hint() -> None:
    text = """\
## Mitigation

Scale the deployment down:

```shell
kubectl -n $NAMESPACE scale deployment $DEPLOYMENT --replicas=0
```

To revert, run `kubectl -n $NAMESPACE scale deployment $DEPLOYMENT --replicas=3`.

Cordon the node:

```shell
kubectl cordon $NODE
```

You can undo this later by uncordoning the node once it is healthy.
"""
    scale, cordon = prose(text).steps
    assert scale.rollback == "kubectl -n {{ labels.namespace }} scale deployment {{ labels.deployment }} --replicas=3"
    assert cordon.rollback is None and cordon.rollback_hint == (
        "You can undo this later by uncordoning the node once it is healthy.")


def test_a_rollback_block_introduced_by_a_sentence() -> None:
    text = ("## Mitigation\n\nPause the rollout:\n\n```shell\nkubectl rollout pause deployment/$DEPLOYMENT\n```\n\n"
            "To undo it, run:\n\n```shell\nkubectl rollout resume deployment/$DEPLOYMENT\n```\n")
    step = only(prose(text))
    assert step.rollback == "kubectl rollout resume deployment/{{ labels.deployment }}"


def test_explicit_risk_lines_are_honoured() -> None:
    text = "## Mitigation\n\nClear the cache:\n\n```shell\nredis-cli FLUSHALL\n```\n\nRisk: green - a cache\n"
    step = only(prose(text))
    assert step.risk is Risk.green and step.risk_explicit and "a cache" in step.risk_reason


# --- placeholders and binding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "template"),
    [
        ("kubectl -n $NAMESPACE get pod $POD", "kubectl -n {{ labels.namespace }} get pod {{ labels.pod }}"),
        ("oc logs ${POD} -n <NAMESPACE>", "oc logs {{ labels.pod }} -n {{ labels.namespace }}"),
        ("oc describe pod <pod-name> -n {NAMESPACE}", "oc describe pod {{ labels.pod }} -n {{ labels.namespace }}"),
        ("oc top pod $POD_NAME", "oc top pod {{ labels.pod }}"),
        ("kubectl logs {{ labels.pod }}", "kubectl logs {{ labels.pod }}"),
        ("echo $HOME $1 $? $$ $@ $(date) $KUBECONFIG", "echo $HOME $1 $? $$ $@ $(date) $KUBECONFIG"),
        ("for i in 1 2; do echo $i; done", "for i in 1 2; do echo $i; done"),
        ("cat <<EOF > f\nx\nEOF\nls 2>&1 | grep '<none>'", "cat <<EOF > f\nx\nEOF\nls 2>&1 | grep '<none>'"),
        ("awk '{print $NF}' f", "awk '{print $NF}' f"),
        ("NAMESPACE='<value of namespace label from alert>'\noc -n $NAMESPACE get pods",
         "oc -n {{ labels.namespace }} get pods"),
    ],
)
def test_placeholders_in_every_common_form(command: str, template: str) -> None:
    assert convert_placeholders(command)[0] == template


def test_label_names_are_normalized_and_unresolved_ones_reported() -> None:
    assert [normalize_label(n) for n in ("POD_NAME", "pod-name", "Namespace", "node_name", "job_name", "ns")] == [
        "pod", "pod", "namespace", "node", "job_name", "namespace"]
    _, names = convert_placeholders("oc get vm <vm-name> -n $NAMESPACE")
    assert names == ["labels.vm_name", "labels.namespace"] and unresolved(names) == ["labels.vm_name"]
    assert {"namespace", "pod", "container", "node", "instance", "job", "cronjob"} <= WELL_KNOWN_LABELS


def test_binding_to_alert_labels_ignores_case() -> None:
    step = only(prose("## Diagnosis\n\nCheck events via `kubectl -n $NAMESPACE get events`.\n"))
    assert render_command(step.command or "", ctx(Namespace="x")).argv == ["kubectl", "-n", "x", "get", "events"]


def test_a_variable_the_block_assigns_stays_a_shell_variable() -> None:
    text = ("## Diagnosis\n\nFind the pod and show its logs:\n\n```shell\n"
            "POD=$(kubectl get pods -n $NAMESPACE -o name | head -n 1)\nkubectl logs -n \"$NAMESPACE\" $POD\n```\n")
    step = only(prose(text))
    assert step.command is None  # $NAMESPACE sits inside $(...): see the next test for why that is manual
    text = "## Diagnosis\n\nShow the logs:\n\n```shell\nPOD=$(kubectl get pods -o name | head -n 1)\nkubectl logs $POD\n```\n"
    step = only(prose(text))
    assert step.command == "POD=$(kubectl get pods -o name | head -n 1)\nkubectl logs $POD" and step.variables == []


def test_a_placeholder_inside_single_quotes_becomes_a_manual_step_that_says_why() -> None:
    command = "oc get clusterrolebinding -o json | jq -r '.items[] | select(.subjects[].name==\"<SERVICEACCOUNT>\")'"
    step = only(prose(f"## Diagnosis\n\nFind the role bindings:\n\n```bash\n{command}\n```\n"))
    assert step.manual and step.target == "manual" and step.variables == []
    assert "placeholder inside single quotes that cannot be filled safely" in step.description
    assert command in step.description  # a person can still run it
    assert step.risk is Risk.green  # the risk of what the person will run


@pytest.mark.parametrize(
    "command",
    ["oc debug node/$NODE", "oc edit deployment x", "oc logs -f deployment/x", "oc rsh -n openshift-etcd etcd-0",
     "kubectl exec -it $POD -- /bin/bash", "ssh core@$NODE", "redis-cli", "redis-cli -h cache-1 -p 6380"],
)
def test_interactive_or_endless_commands_become_manual_steps(command: str) -> None:
    step = only(prose(f"## Diagnosis\n\nLook at it:\n\n```shell\n{command}\n```\n"))
    assert step.manual and "Run this by hand" in step.description


@pytest.mark.parametrize("command", ["redis-cli info memory", "redis-cli -h cache-1 -n 2 dbsize"])
def test_a_redis_cli_with_its_command_runs_as_a_step(command: str) -> None:
    step = only(prose(f"## Diagnosis\n\nLook at it:\n\n```shell\n{command}\n```\n"))
    assert step.command == command


# --- which parser, and never an exception -------------------------------------------------------------------


def test_the_structured_library_parses_exactly_as_before() -> None:
    files = sorted((REPO / "tests" / "runbooks").glob("*.md")) + sorted((REPO / "runbooks" / "library").glob("*.md"))
    assert files
    for path in files:
        text = path.read_text()
        assert is_structured(text), path
        via_router = parse_markdown(text, path.name, path.stem)
        assert via_router.format == "structured"
        assert via_router.model_dump() == parse_structured(text, path.name, path.stem).model_dump()
        parse_file(path, path.parent)


@pytest.mark.parametrize(
    ("text", "structured"),
    [
        ("# T\n\n## Steps\n\n1. **Look**\n   ```sh\n   uptime\n   ```\n", True),
        ("---\nmatch:\n  alertname: X\n---\n# T\n\n1. **Look**\n   ```sh\n   uptime\n   ```\n", True),
        ("---\ntitle: T\nweight: 20\n---\n# T\n\n1. **Look**\n   ```sh\n   uptime\n   ```\n", False),
        ("# T\n\n## Diagnosis\n\n1. Check the logs:\n   ```sh\n   oc logs x\n   ```\n", False),
        ("# T\n\n#### Procedure\n\n1. Create a YAML file for the CR\n2. Apply it\n", False),
    ],
)
def test_structured_only_with_a_steps_heading_or_our_front_matter(text: str, structured: bool) -> None:
    assert is_structured(text) is structured
    assert parse_markdown(text).format == ("structured" if structured else "prose")


def test_structured_errors_still_name_their_line() -> None:
    with pytest.raises(RunbookParseError) as err:
        parse_markdown("# T\n\n## Steps\n\n1. **Look**\n   Risk: purple\n   ```sh\n   uptime\n   ```\n")
    assert err.value.line == 6


@pytest.mark.parametrize(
    "text",
    ["", "# Only a title\n", "---\ntitle: [unclosed\n---\n# T\n", "---\nnever closed\n",
     "## Diagnosis\n\n```shell\n$ oc get pods '\n", "## Diagnosis\n\n```\n{{ broken\n```\n",
     "## Mitigation\n\n```sh\necho ${#HOME} {% x %} {# c #}\n```\n"],
)
def test_prose_never_raises_on_odd_documents(text: str) -> None:
    assert isinstance(parse_prose(text), Runbook)


def test_without_any_command_the_diagnosis_and_mitigation_bullets_are_manual_steps() -> None:
    text = ("## Meaning\n\n- not a step\n\n## Diagnosis\n\n- Check if the app is healthy\n- If the node is down, "
            "call the provider\n\n## Mitigation\n\nTalk to the developers.\n")
    steps = prose(text).steps
    assert [(s.title, s.condition, s.manual, s.section) for s in steps] == [
        ("Check if the app is healthy", None, True, "diagnosis"),
        ("Call the provider", "the node is down", True, "diagnosis")]
    assert prose("# Nothing\n\nJust words.\n").steps == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of public runbooks is not checked out")
def test_every_corpus_runbook_parses() -> None:
    total = 0
    for path in sorted(CORPUS.rglob("*.md")):
        rel = path.relative_to(CORPUS)
        runbook = parse_file(path, CORPUS)
        assert runbook.id == rel.with_suffix("").as_posix()
        assert runbook.format == "prose"
        for step in runbook.steps:
            assert step.target in ("local", "manual") and step.line > 0
        total += len(runbook.steps)
    assert total > 0


CONTROL_PLANE_CPU = """# ExtremelyHighIndividualControlPlaneCPU

## Meaning

[This alert][ExtremelyHighIndividualControlPlaneCPU] is triggered when one control plane node's CPU is high.

[This alert][HighOverallControlPlaneCPU] is triggered when all three together are higher than two can sustain.

## Mitigation

Check the top consumers: `oc adm top pods -A --sort-by=cpu`.
"""


def test_a_runbook_that_documents_several_alerts_names_each_of_them() -> None:
    rb = parse_markdown(CONTROL_PLANE_CPU, default_id="kube-apiserver/ExtremelyHighIndividualControlPlaneCPU")
    assert rb.alerts == ["HighOverallControlPlaneCPU"]  # its own name is matched anyway
    listed = parse_markdown("---\nalerts: [NodeDiskFull, node_disk_full]\n---\n# Disk full\n\nFree space: `df -h`.\n")
    assert listed.alerts == ["NodeDiskFull", "node_disk_full"]


def test_alerts_in_front_matter_must_be_alert_names() -> None:
    with pytest.raises(RunbookParseError) as err:
        parse_markdown("---\nalerts: {a: b}\n---\n# Disk full\n\nFree space: `df -h`.\n")
    assert "alerts: must be an alert name" in str(err.value) and err.value.line == 2
