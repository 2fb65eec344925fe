"""One module per resource or door: alerts, match, runbooks, executions, slack, health, metrics."""
