"""exchange releases, deadlines, submissions, feedback: the first revision of branch `exchange` (2026-11-28)."""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "x0001", None, ("exchange",), None


def upgrade() -> None:
    op.create_table('exchange_deadlines',
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('assignment_id', sa.String(length=64), nullable=False),
    sa.Column('class_name', sa.String(length=64), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=128), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('course_id', 'assignment_id', 'class_name')
    )
    op.create_table('exchange_releases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('assignment_id', sa.String(length=64), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('notebooks', sa.Text(), nullable=False),
    sa.Column('released_by', sa.String(length=128), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'assignment_id')
    )
    op.create_table('exchange_submissions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('assignment_id', sa.String(length=64), nullable=False),
    sa.Column('student', sa.String(length=128), nullable=False),
    sa.Column('class_name', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timestamp', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('notebooks', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds_late', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exchange_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_submissions_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_submissions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_submissions_student'), ['student'], unique=False)

    op.create_table('exchange_feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('submission_id', sa.String(length=32), nullable=False),
    sa.Column('notebook_id', sa.String(length=255), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('released_by', sa.String(length=128), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['exchange_submissions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'notebook_id')
    )
    with op.batch_alter_table('exchange_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_feedback_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('exchange_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_feedback_submission_id'))

    op.drop_table('exchange_feedback')
    with op.batch_alter_table('exchange_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_submissions_student'))
        batch_op.drop_index(batch_op.f('ix_exchange_submissions_course_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_submissions_assignment_id'))

    op.drop_table('exchange_submissions')
    op.drop_table('exchange_releases')
    op.drop_table('exchange_deadlines')
