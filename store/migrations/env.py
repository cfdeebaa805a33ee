"""Alembic environment: the engine comes from ``store.db`` (config.attributes['engine'])."""
from alembic import context
from sqlalchemy import create_engine

from store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the alembic command line, for writing new revisions
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///:memory:")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
