"""The HTTP doors: alert webhooks, the REST API, Slack's endpoints, health and metrics. Routes parse
the request, call a service (services/) and shape the answer; nothing below imports this package."""
