"""The worker process: polls a task queue, runs workflow tasks and step activities, serves /metrics."""
