"""Alembic environment for the certificate registry; called with a connection by graders.certificates.store."""

from alembic import context

from graders.certificates.models import Base
from graders.certificates.store import VERSION_TABLE

OWN_TABLES = set(Base.metadata.tables)


def include_object(obj, name, type_, reflected, compare_to):
    # The database is shared with the directory and nbgrader-free hub tables: only ours are compared.
    if type_ == "table":
        return name in OWN_TABLES
    return True


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
