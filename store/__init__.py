"""Persistence: the database (SQLAlchemy models, Alembic migrations, audited state changes)
and the content-addressed store of original message bytes."""
