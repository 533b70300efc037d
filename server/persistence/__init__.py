"""Adapters to the database: SQLModel tables, the engine, migrations."""
