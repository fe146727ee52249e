"""server-side login sessions and the login throttle's failures

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

``login_session``: a browser session is alive only while its row says so (logout, deactivation
and "log out everywhere" revoke it). ``login_failure``: wrong passwords in the throttle's sliding
window, by account and by client address.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_reason', sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_login_session_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_login_session_key_hash')),
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_person_id'), ['person_id'], unique=False)

    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('account', sa.String(length=100), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('account_cleared', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_failure_account_at', ['account', 'at'], unique=False)
        batch_op.create_index('ix_login_failure_address_at', ['address', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_address_at')
        batch_op.drop_index('ix_login_failure_account_at')
        batch_op.drop_index(batch_op.f('ix_login_failure_at'))
    op.drop_table('login_failure')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_person_id'))
    op.drop_table('login_session')
