"""Temporal workflow code: `RunbookExecution` (deterministic orchestration, no I/O), the search
attributes the Web UI lists by, and how processes connect to Temporal."""
