"""signing keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:58:15.870488

Asymmetric token-signing keys (SPEC §12); at most one active and one standby key
per algorithm.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ONE_ACTIVE_ONE_STANDBY = sa.text("state IN ('active', 'standby')")


def upgrade():
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_keys'))
    )
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index('uq_signing_keys_algorithm_state', ['algorithm', 'state'],
                              unique=True, sqlite_where=ONE_ACTIVE_ONE_STANDBY,
                              postgresql_where=ONE_ACTIVE_ONE_STANDBY)


def downgrade():
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_signing_keys_algorithm_state')

    op.drop_table('signing_keys')
