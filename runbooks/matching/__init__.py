"""Which runbook answers an alert, or honestly none: selectors, names, then BM25 and offline MiniLM
embeddings with a calibrated threshold (`index.RunbookIndex`)."""
