"""The one alembic environment of our tables; graders.db.upgrade_schema runs it on a connection.

Revisions live in versions/, one branch per subsystem (branch labels `directory`, `exchange`,
`certificates`); a new one starts from script.py.mako with `down_revision` set to its branch's head and
a file name that starts with the branch. Revision ids stay unique across branches (0001, x0001, c0001).
"""

from alembic import context

from graders.db import VERSION_TABLE, Base


def include_object(obj, name, type_, reflected, compare_to):
    # Only our tables: users_info is nativeauthenticator's, JupyterHub's may share the database.
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
