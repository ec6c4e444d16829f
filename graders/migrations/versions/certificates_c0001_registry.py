"""certificate registry: certificates, serial counters, audit log: the first revision of branch `certificates` (2026-12-01)."""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "c0001", None, ("certificates",), None


def upgrade() -> None:
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('class_name', sa.String(length=64), nullable=True),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('course_title_vi', sa.String(length=300), nullable=False),
    sa.Column('course_title_en', sa.String(length=300), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('decision', sa.String(length=120), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('credential', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=500), nullable=True),
    sa.Column('revoked_by', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial'),
    sa.UniqueConstraint('year', 'seq', name='uq_certificates_year_seq')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_username', ['username'], unique=False)
        batch_op.create_index('ix_certificates_course_id', ['course_id'], unique=False)
        batch_op.create_index('uq_certificates_active_learner', ['username', 'course_id'], unique=True,
                              sqlite_where=sa.text('revoked_at IS NULL'),
                              postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('certificate_serials',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('certificate_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certificate_audit', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_certificate_audit_serial', ['serial'], unique=False)


def downgrade() -> None:
    op.drop_table('certificate_audit')
    op.drop_table('certificate_serials')
    op.drop_table('certificates')
