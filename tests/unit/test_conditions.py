"""`If:` conditions as a runbook author meets them: what holds, what is refused at load, and with which message.

Alert values (labels, step output) are data: they never become expression text or a pattern.
"""

from __future__ import annotations

import dataclasses
import pickle
import random

import pytest

from runbooks.conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    REGEX_WINDOW,
    Condition,
    ConditionContext,
    ConditionError,
    StepOutcome,
    parse_condition,
)


def context(labels: dict[str, str] | None = None, **steps: StepOutcome) -> ConditionContext:
    """Steps keyed by id (`_` in a keyword stands for `-`) and by position (1-based), as the workflow fills them."""
    keyed: dict[str, StepOutcome] = {}
    for position, (step_id, outcome) in enumerate(steps.items(), start=1):
        keyed[step_id.replace("_", "-")] = keyed[str(position)] = outcome
    return ConditionContext(steps=keyed, labels=labels or {}, annotations={"summary": "disk 91% full"},
                            params={"namespace": "payments"})


CTX = context(
    {"severity": "critical", "env": "prod", "replicas": "5", "app.kubernetes.io/name": "api"},
    check_disk=StepOutcome(exit_code=0, output="/dev/sda1 91%", status="succeeded"),
    restart_pod_2=StepOutcome(exit_code=137, output="Last State: Terminated\nReason: OOMKilled", status="failed"),
    check=StepOutcome(exit_code=1, output="pod api-7f9 is not ready yet", status="failed"),
    later=StepOutcome(),
)


def holds(text: str, ctx: ConditionContext = CTX) -> bool:
    return parse_condition(text).evaluate(ctx)


def refusal(text: str) -> str:
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    return str(caught.value)


# What holds


def test_a_step_by_id_with_hyphens_and_its_exit_code() -> None:
    assert holds("steps.check-disk.exit_code == 0")
    assert not holds("steps.check-disk.exit_code != 0")


def test_a_step_by_position_and_a_pattern_in_its_output() -> None:
    assert holds('steps.2.output =~ "OOMKilled"')
    assert not holds('steps.1.output =~ "OOMKilled"')


def test_a_step_that_has_not_run_has_no_exit_code_empty_output_and_is_pending() -> None:
    assert holds("steps.later.exit_code == null")
    assert not holds("steps.later.exit_code == 0")
    assert holds('steps.later.output == "" and steps.later.status == "pending"')


def test_status_names_what_became_of_a_step() -> None:
    assert holds('steps.restart-pod-2.status == "failed" or steps.check-disk.status == "failed"')


@pytest.mark.parametrize(("env", "expected"), [("prod", True), ("dev", False), ("staging", False)])
def test_critical_outside_dev_and_staging(env: str, expected: bool) -> None:
    ctx = context({"severity": "critical", "env": env})
    assert holds('labels.severity == "critical" and not (labels.env in ["dev", "staging"])', ctx) is expected
    assert holds("labels.severity == 'critical' and labels.env not in ['dev', 'staging']", ctx) is expected


@pytest.mark.parametrize(("replicas", "expected"), [("5", True), ("3", False), ("-1", False), (" 12 ", True)])
def test_a_label_that_reads_as_an_integer_compares_as_a_number(replicas: str, expected: bool) -> None:
    assert holds("labels.replicas > 3", context({"replicas": replicas})) is expected
    assert holds(f"labels.replicas == {replicas.strip()}", context({"replicas": replicas}))


@pytest.mark.parametrize("text", ["labels.missing < 3", "labels.missing >= 0", "labels.env > 3", "true > 0",
                                  '"10" < 9', "labels.replicas < null", "steps.later.exit_code >= 0"])
def test_ordering_mismatched_types_or_null_is_false_not_an_error(text: str) -> None:
    assert holds(text) is False


def test_strings_order_as_text_and_integers_as_numbers() -> None:
    assert holds('"apple" < "banana" and 10 > 9 and -2 < 1 and 3 <= 3')


def test_a_missing_label_is_null_not_an_error() -> None:
    assert holds("labels.nope == null")
    assert holds("not labels.nope")
    assert not holds('labels.nope == ""')
    assert holds('labels.nope !~ "x" and not (labels.nope =~ ".*")'), "null matches no pattern"


def test_output_without_a_word() -> None:
    assert holds("steps.check.output !~ 'ready'") is False
    assert holds("steps.check-disk.output !~ 'ready'") is True


def test_in_is_membership_of_a_list_or_a_substring_of_text() -> None:
    assert holds('"OOMKilled" in steps.2.output and "panic" not in steps.2.output')
    assert holds("labels.replicas in [1, 3, 5]"), "the label '5' is the integer 5 next to integers"
    assert holds("steps.check.exit_code in [1, 2] and steps.later.exit_code in [null]")
    assert not holds("labels.nope in steps.2.output")


def test_labels_with_other_characters_annotations_and_params() -> None:
    assert holds('labels["app.kubernetes.io/name"] == "api"')
    assert holds('annotations.summary =~ "[0-9]+% full" and params.namespace == "payments"')


def test_quotes_and_escapes() -> None:
    ctx = context({"msg": "it's \"done\"\n\tnext"})
    assert holds("labels.msg == 'it\\'s \"done\"\\n\\tnext'", ctx)
    assert holds('labels.msg == "it\'s \\"done\\"\\n\\tnext"', ctx)
    assert holds('"a\\\\b" == \'a\\\\b\'')


def test_regex_escapes_reach_the_pattern_as_written() -> None:
    assert holds(r'steps.check-disk.output =~ "sda\d+ \d{2}%"')
    assert holds(r'steps.check-disk.output =~ "sda\\d+"'), "an escaped backslash is the same regex"


def test_a_bare_value_is_truthy_except_null() -> None:
    assert holds("steps.check.output")
    assert not holds("steps.later.output")
    assert not holds("steps.check-disk.exit_code"), "exit code 0 is false, as in Python"
    assert holds("labels.env") and not holds("labels.nope") and not holds("null")
    assert holds("true") and not holds("false") and holds("(1)")


def test_true_is_not_one_and_null_equals_only_null() -> None:
    assert not holds("true == 1")
    assert not holds("null == 0") and not holds('null == ""') and holds("null == null")
    assert not holds('steps.later.exit_code == "null"')


def test_precedence_or_looser_than_and_looser_than_not_looser_than_comparisons() -> None:
    assert holds("true or false and false")
    assert not holds("(true or false) and false")
    assert holds('not labels.env == "dev"'), "not applies to the comparison"
    assert holds("not not true")


def test_long_output_is_searched_in_its_last_64_kib() -> None:
    late = context(s=StepOutcome(output="x" * (REGEX_WINDOW * 4) + "OOMKilled"))
    early = context(s=StepOutcome(output="OOMKilled" + "x" * REGEX_WINDOW))
    assert holds('steps.s.output =~ "OOMKilled$"', late)
    assert not holds('steps.s.output =~ "OOMKilled"', early)


# Alert data stays data


@pytest.mark.parametrize("value", ['") or true or ("', "' or 'a' == 'a", "1 or true", "steps.1.exit_code == 0",
                                   "__import__('os').system('id')", "(a+)+$", "\\"])
def test_an_alert_value_is_only_data(value: str) -> None:
    ctx = context({"env": value, "pattern": value})
    assert holds('labels.env == "prod"', ctx) is False
    assert holds('labels.env == "prod" or labels.env == "dev"', ctx) is False
    assert holds("labels.env == labels.pattern", ctx) is True


def test_a_pattern_must_be_written_in_the_runbook_not_taken_from_the_alert() -> None:
    message = refusal("steps.check.output =~ labels.pattern")
    assert "at column 23" in message and "quoted pattern" in message
    assert "quoted pattern" in refusal('steps.check.output !~ ("x")')


def test_nothing_but_conditions_can_be_named() -> None:
    message = refusal('os.system("rm -rf /")')
    assert "at column 1" in message and "unknown name 'os.system'" in message
    assert "steps.<id>.exit_code" in message and "labels.<name>" in message and "params.<name>" in message
    assert "unknown name" in refusal("__import__")
    assert "unknown name" in refusal("context.steps")


# What is refused at load, and where


def test_a_parse_error_names_the_column_and_what_was_expected() -> None:
    assert refusal("steps.x.exit_code ==") == (
        "at column 21: expected a value, found the end of the condition")
    assert "at column 14: expected a value, found 'and'" in refusal("labels.a and and true")


@pytest.mark.parametrize("text", ["steps.x.stdout", "steps.x", "steps.x.output.len", "steps['x'] == 0"])
def test_steps_have_three_fields(text: str) -> None:
    message = refusal(text)
    assert "at column 1" in message and "exit_code|output|status" in message


def test_label_names_are_identifiers_or_bracketed_strings() -> None:
    assert 'labels["any-name"]' in refusal("labels.app-name == 'x'")
    assert "quoted name" in refusal("labels[severity]")
    assert "expected ']'" in refusal('labels["severity"')


@pytest.mark.parametrize("pattern", ["(a+)+b", "(.*)*x", r"(\w+\s?)+!", "(a|aa)+b", ".*a.*b"])
def test_a_pattern_that_would_backtrack_exponentially_elsewhere_answers_at_once_on_any_output(pattern: str) -> None:
    """Patterns run on RE2: linear in the output, so no alert's output can stall the workflow (with
    Python's re, each of these takes from seconds to forever on this output)."""
    outcome = StepOutcome(0, "a" * 65_536)
    assert holds(f'steps.check.output !~ "{pattern}"', ConditionContext(steps={"check": outcome}))


@pytest.mark.parametrize("pattern", [r"(a)\\1", "(?=a)b", "(?<!x)y"])
def test_backreferences_and_lookarounds_are_refused_where_they_are_written(pattern: str) -> None:
    message = refusal(f'steps.check.output =~ "{pattern}"')
    assert message.startswith("at column 23: invalid pattern"), message


@pytest.mark.parametrize("pattern", [r"(\d{1,3}\.){3}\d{1,3}", "OOM(Killed)?", "(error|fatal): (.*)", "[(a+)+]",
                                     r"\(a+\)+", "(ab)+c*", r"^Reason: (\w+)$", "[]()+]+"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    parse_condition(f'steps.check.output =~ "{pattern}"')


def test_a_pattern_that_does_not_compile_is_refused_where_it_is_written() -> None:
    message = refusal('labels.env =~ "(unclosed"')
    assert message.startswith("at column 15: invalid pattern") and "missing )" in message


def test_comparisons_cannot_be_chained() -> None:
    assert "at column 15: comparisons cannot be chained" in refusal("labels.a == 1 == true")
    assert "cannot be chained" in refusal("1 < labels.replicas < 9")
    assert "cannot be chained" in refusal("labels.a == 1 not in [1]")


def test_trailing_junk_is_refused() -> None:
    assert refusal('labels.env == "prod" "dev"') == (
        "at column 22: expected 'and', 'or' or the end of the condition, found '\"dev\"'")
    assert "found ')'" in refusal("(true))")


def test_small_slips_are_named() -> None:
    assert refusal("  ") == "at column 3: expected a value, found the end of the condition"
    assert "at column 12: unexpected character '=' (use == to compare)" in refusal('labels.env = "prod"')
    assert "at column 15: unterminated string" in refusal('labels.env == "prod')
    assert "a list can only follow 'in'" in refusal('["dev"] == labels.env')
    assert "list item" in refusal("labels.env in [labels.other]")
    assert "expected ','" in refusal('labels.env in ["a" "b"]')
    assert "integer too long" in refusal("labels.n > 1" + "0" * 20)


def test_length_and_nesting_are_capped() -> None:
    at_limit = "true or " * ((MAX_LENGTH - 4) // 8) + "true"
    assert len(at_limit) <= MAX_LENGTH and holds(at_limit)
    assert f"longer than {MAX_LENGTH}" in refusal("true " + " " * MAX_LENGTH)
    assert holds("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH)
    assert f"deeper than {MAX_DEPTH}" in refusal("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH}" in refusal("not " * (MAX_DEPTH + 1) + "true")


# For the loader and the workflow


def test_step_refs_names_every_step_id_and_position_used() -> None:
    condition = parse_condition('steps.check-disk.exit_code == 0 and (steps.2.output =~ "x" or steps.2.status)'
                                ' and labels.steps == "1"')
    assert condition.step_refs() == {"check-disk", "2"}
    assert parse_condition("labels.env == 'prod'").step_refs() == set()


def test_a_step_missing_at_evaluation_is_a_condition_error() -> None:
    condition = parse_condition("labels.env == 'prod' and steps.gone.exit_code == 0")
    with pytest.raises(ConditionError, match="at column 26: unknown step 'gone'"):
        condition.evaluate(CTX)


def test_a_condition_is_plain_data_built_by_parsing() -> None:
    condition = Condition("steps.1.exit_code == 0")
    assert condition == parse_condition("steps.1.exit_code == 0") and condition.evaluate(CTX)
    assert dataclasses.asdict(condition) == {"text": "steps.1.exit_code == 0"}
    assert pickle.loads(pickle.dumps(condition)).evaluate(CTX)
    with pytest.raises(ConditionError):
        Condition("steps.1.exit_code ==")
    with pytest.raises(ConditionError, match="a condition is text"):
        Condition(True)  # type: ignore[arg-type]  # what a YAML `If: true` would hand over


def test_any_text_either_parses_or_is_a_condition_error_and_any_data_evaluates() -> None:
    rng = random.Random(7)
    pieces = ["steps.a.exit_code", "steps.1.output", "labels.x", "labels['y z']", "params.p", "==", "!=", "<", ">=",
              "=~", "!~", "in", "not", "and", "or", "(", ")", "[", "]", ",", "'s'", '"(a+)+"', "'\\d+'", "0", "-3",
              "null", "true", "=", "!", "'", "\\", "steps", "os.system", "[1, 'a']", " "]
    values = ["", "5", "-7", "abc", "x" * 70_000, "(a+)+", "') or ('", "\n", "99999999999999999999999", "é"]
    parsed = 0
    for _ in range(3000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 9)))
        try:
            condition = parse_condition(text)
        except ConditionError as error:
            assert str(error).startswith("at column "), text
            continue
        parsed += 1
        ctx = context({"x": rng.choice(values), "y z": rng.choice(values)},
                      a=StepOutcome(rng.choice([None, 0, 2]), rng.choice(values), "failed"))
        ctx.params["p"] = rng.choice(values)
        assert isinstance(condition.evaluate(ctx), bool), text
    assert parsed > 100, "the sample holds enough valid conditions to mean something"
