"""second factors and sign-in challenges

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:17:38.144640

Second factors (SPEC §10): one ``authenticators`` table for every kind (TOTP,
recovery codes, later passkeys), at most one TOTP per account; and the
``mfa_challenges`` of sign-ins waiting for their second factor.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('authenticators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_authenticators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authenticators'))
    )
    with op.batch_alter_table('authenticators', schema=None) as batch_op:
        batch_op.create_index('ix_authenticators_user_id_type', ['user_id', 'type'], unique=False)
        batch_op.create_index('uq_authenticators_one_totp', ['user_id'], unique=True, sqlite_where=sa.text("type = 'totp'"), postgresql_where=sa.text("type = 'totp'"))

    op.create_table('mfa_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_challenges_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_challenges')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_mfa_challenges_token_hash'))
    )
    with op.batch_alter_table('mfa_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mfa_challenges_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mfa_challenges_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('mfa_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mfa_challenges_user_id'))
        batch_op.drop_index(batch_op.f('ix_mfa_challenges_expires_at'))

    op.drop_table('mfa_challenges')
    with op.batch_alter_table('authenticators', schema=None) as batch_op:
        batch_op.drop_index('uq_authenticators_one_totp', sqlite_where=sa.text("type = 'totp'"), postgresql_where=sa.text("type = 'totp'"))
        batch_op.drop_index('ix_authenticators_user_id_type')

    op.drop_table('authenticators')
