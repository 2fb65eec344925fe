"""What every process reports about itself: Prometheus metric objects and JSON (or text) logs that
carry the execution id."""
