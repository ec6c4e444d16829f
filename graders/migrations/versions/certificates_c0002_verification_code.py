"""certificates get a random verification code (the unguessable half of their public address)

Existing certificates get a code now. Their signed JSON and PDF are not changed (a signed document is never
rewritten after it was handed out): their QR code keeps pointing at `verify/<serial>`, which now shows only
whether the number is registered, in force or revoked; the holder finds the full address with the code on
"Giấy chứng nhận của tôi" (/services/certificates/me).

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-02 23:00:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

# Frozen copy of graders/certificates/codes.py as of this revision (a migration must not change with the code).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def upgrade() -> None:
    # Nullable at the database level: making it NOT NULL on SQLite means copying the table (batch mode), and
    # the copy would have to rebuild the partial unique index exactly; the model fills it on every insert.
    op.add_column("certificates", sa.Column("verification_code", sa.String(length=16), nullable=True))
    certificates = sa.table("certificates", sa.column("id", sa.Integer), sa.column("verification_code", sa.String))
    bind = op.get_bind()
    ids = bind.execute(sa.select(certificates.c.id).where(certificates.c.verification_code.is_(None))).scalars().all()
    if ids:
        bind.execute(
            certificates.update().where(certificates.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "verification_code": _code()} for row_id in ids],
        )


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch_op:
        batch_op.drop_column("verification_code")
