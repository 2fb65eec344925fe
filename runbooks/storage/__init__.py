"""The application database: tables (SQLModel), the store that reads and writes them in the terms
the engine speaks, connections, and the Alembic migrations run at start under a lock."""
