"""roles, and audit rows that outlive their account

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00.000000

Roles and the user-role link, with the built-in ``admin`` role (SPEC §13).
``auth_events.user_id`` becomes ON DELETE SET NULL, so deleting an account
keeps its (scrubbed) events.

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    roles = op.create_table('roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('name', name=op.f('uq_roles_name'))
    )
    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_user_roles_role_id_roles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_roles'))
    )
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_roles_role_id'), ['role_id'], unique=False)
    # Naive UTC, as the app's column type stores it on SQLite; PostgreSQL reads it as UTC too.
    op.bulk_insert(roles, [{'name': 'admin',
                            'created_at': datetime.now(UTC).replace(tzinfo=None)}])

    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_auth_events_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_auth_events_user_id_users'), 'users', ['user_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_auth_events_user_id_users'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_auth_events_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_roles_role_id'))

    op.drop_table('user_roles')
    op.drop_table('roles')
