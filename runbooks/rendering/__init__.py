"""Alert values into commands, safely: a value fills exactly one argument and never becomes code
(templating, shell placement), and a runbook version rendered into the plan an execution walks."""
