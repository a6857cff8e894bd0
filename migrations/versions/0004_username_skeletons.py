"""username skeletons

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:40:36.828713

Every account gets the UTS 39 skeleton of its name, so that a new name that looks like
an existing one can be refused by an index lookup. Existing names keep working even
where two of them share a skeleton: the index is not unique.
"""
import sqlalchemy as sa
from alembic import op

from authapp.accounts.usernames import username_skeleton

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                 sa.column('username_skeleton', sa.String))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_skeleton', sa.String(length=256), nullable=True))
    connection = op.get_bind()
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username)):
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(username_skeleton=username_skeleton(username)))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('username_skeleton', existing_type=sa.String(length=256),
                              nullable=False)
        batch_op.create_index(batch_op.f('ix_users_username_skeleton'), ['username_skeleton'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_username_skeleton'))
        batch_op.drop_column('username_skeleton')
