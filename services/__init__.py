"""The service layer: what every door (REST, Slack, CLI, web pages) calls, so they all behave alike.

    launch.py     start an execution exactly once, from an alert or by hand
    ingest.py     a source's delivery: verify, record every alert, match, start or resolve
    decisions.py  approve or reject a waiting step (the one rule, runbooks.policy)
    control.py    live progress and cancel
    catalog.py    the matching catalogue, refreshed after every import
    versions.py   new runbook versions through a door: paste, upload, revert (catalogue kept current)
    context.py    what a service call works with, opened once at start
    errors.py     the refusals every door maps the same way
    sources/      one adapter per alert source, and their registry
"""
