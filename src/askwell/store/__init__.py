"""The prediction, feedback and revision store: SQLite by default, PostgreSQL by URL."""
