"""audit append function (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:00:00

On PostgreSQL, ``ia_audit_append(...)`` appends one event in one round trip: it takes the chain's
advisory lock, reads the tip, and inserts the event with its sequence number, the tip's hash as
``prev_hash`` and its own hash. The caller passes the event's canonical JSON up to the two fields
that depend on the tip (``prev`` and ``seq`` sort last), so the hash covers exactly the bytes
``internal_affairs.audit.actions._canonical`` makes, and ``flask audit verify`` checks both alike.
SQLite serialises writers itself and appends from Python. The tip function of 0006 stays, for
code of that revision.
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOCK_KEY = 424242  # internal_affairs.audit.actions.CHAIN_LOCK_KEY
GENESIS = "0" * 64  # internal_affairs.audit.actions.GENESIS


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION ia_audit_append(
            canonical_head text, p_occurred_at timestamp, p_actor_id integer, p_actor_label varchar,
            p_on_behalf_of_id integer, p_action varchar, p_object_type varchar, p_object_id varchar, p_data json,
            OUT new_seq integer, OUT new_hash varchar)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            tip_seq integer;
            tip_hash varchar;
        BEGIN
            PERFORM pg_advisory_xact_lock({LOCK_KEY});
            SELECT e.seq, e.hash INTO tip_seq, tip_hash FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
            new_seq := coalesce(tip_seq, 0) + 1;
            tip_hash := coalesce(tip_hash, '{GENESIS}');
            new_hash := encode(sha256(convert_to(
                canonical_head || ',"prev":"' || tip_hash || '","seq":' || new_seq::text || '}}', 'UTF8')), 'hex');
            INSERT INTO audit_event (seq, occurred_at, actor_id, actor_label, on_behalf_of_id, action, object_type,
                                     object_id, data, prev_hash, hash)
            VALUES (new_seq, p_occurred_at, p_actor_id, p_actor_label, p_on_behalf_of_id, p_action, p_object_type,
                    p_object_id, p_data, tip_hash, new_hash);
        END
        $$
    """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ia_audit_append(text, timestamp, integer, varchar, integer, varchar, "
                   "varchar, varchar, json)")
