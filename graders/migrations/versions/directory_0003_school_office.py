"""the school's office (2026-12-04): class unit/province/funding name/status, people deactivated, the admin
audit log, failed logins counted in the database."""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def upgrade() -> None:
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funding_name", sa.String(length=300), server_default="", nullable=False))
        batch_op.add_column(sa.Column("unit", sa.String(length=300), server_default="", nullable=False))
        batch_op.add_column(sa.Column("province", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum("open", "closed", "archived", name="classstatus", native_enum=False, length=16),
                server_default="open",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default="1", nullable=False))

    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_audit_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_audit_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_audit_target"), ["target"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        for column in ("target", "action", "actor", "at"):
            batch_op.drop_index(batch_op.f(f"ix_admin_audit_{column}"))
    op.drop_table("admin_audit")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("active")
    with op.batch_alter_table("classes", schema=None) as batch_op:
        for column in ("closed_at", "status", "province", "unit", "funding_name"):
            batch_op.drop_column(column)
