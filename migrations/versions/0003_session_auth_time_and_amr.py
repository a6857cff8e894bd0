"""session auth_time and amr

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:20:00.000000

Existing sessions proved themselves when they signed in, with a password.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('amr', sa.String(length=64), nullable=True))
    op.execute("UPDATE sessions SET auth_time = created_at, amr = 'pwd'")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('auth_time', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('amr', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('amr')
        batch_op.drop_column('auth_time')
