"""Alembic environment for the directory tables; called with a connection by hub.directory.db."""

from alembic import context

from hub.directory.db import VERSION_TABLE
from hub.directory.models import Base


def include_object(obj, name, type_, reflected, compare_to):
    # users_info belongs to nativeauthenticator, which creates it itself.
    return not (type_ == "table" and name == "users_info")


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_object=include_object,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables instead
)
with context.begin_transaction():
    context.run_migrations()
