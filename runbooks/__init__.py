"""The runbook domain, in rooms by job. Pure code and data shapes; nothing here talks to Temporal.

    model.py      runbooks, steps, risks, modes, escalation (what a runbook is)
    contract.py   what crosses the Temporal boundary, and the names both sides use
    policy.py     run, ask or report a step (mode x risk); who may decide a waiting step
    targets.py    where a step runs: target specs parsed and validated
    settings.py   the one settings object
    authoring/    text -> Runbook        rendering/  alert values -> commands, safely
    matching/     alert -> runbook       risk/       command -> green, yellow, red
    storage/      the application database (tables, store, migrations)
    telemetry/    metrics and logs       library/    the runbooks shipped with the product
"""
