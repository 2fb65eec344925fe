"""Every side effect of an execution, as Temporal activities: running a step's command on its target
(targets/), mirroring state and events to the database (records), Slack (slack_notifier,
slack_messages), and rendering a step again with values a person supplied (rerender)."""
