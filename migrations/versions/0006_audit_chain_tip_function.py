"""audit chain tip function (PostgreSQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00

On PostgreSQL, appending to the audit chain takes a transaction-scoped advisory lock and then
reads the last event. ``ia_audit_chain_tip()`` does both in one round trip: a PL/pgSQL statement
takes its own snapshot, so the read after the lock sees the event its previous holder committed.
SQLite serialises writers itself and needs no function.
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LOCK_KEY = 424242  # internal_affairs.audit.actions.CHAIN_LOCK_KEY


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION ia_audit_chain_tip(OUT tip_seq integer, OUT tip_hash varchar)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({LOCK_KEY});
            SELECT e.seq, e.hash INTO tip_seq, tip_hash FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
        END
        $$
    """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ia_audit_chain_tip()")
