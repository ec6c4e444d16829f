"""Alembic environment for the directory tables; called with a connection by hub.directory.db."""

from alembic import context

from hub.directory.db import VERSION_TABLE
from hub.directory.models import Base


def include_object(obj, name, type_, reflected, compare_to):
    # Only the directory's own tables: users_info is nativeauthenticator's, other subsystems have theirs.
    return type_ != "table" or name in Base.metadata.tables


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
