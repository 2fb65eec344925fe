"""The `runbooks` command (dev, api, worker, import, parse, risk, db) and the embedded Temporal dev server."""
