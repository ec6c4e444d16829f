"""Alembic environment of the exchange's tables (own version table, so it migrates on its own)."""

from alembic import context

from hub.services.exchange.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="truongso_exchange_version",
    include_object=lambda obj, name, type_, reflected, compare_to: type_ != "table" or name in Base.metadata.tables,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
