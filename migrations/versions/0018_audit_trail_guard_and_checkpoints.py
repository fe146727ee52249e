"""audit trail: client address, a guard against UPDATE and DELETE, signed checkpoints

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02 05:00:00

``audit_event.client_address`` records the address a request came from (hashed into the event
when present, so old events keep their hashes). On PostgreSQL triggers refuse ``UPDATE``,
``DELETE`` and ``TRUNCATE`` on ``audit_event`` and ``audit_checkpoint`` (only someone able to disable triggers, a
superuser or the table's owner, can still change history, and then the checkpoints catch it), and
``ia_audit_append`` gains an overload that stores the client address. ``audit_checkpoint`` keeps
the signed chain heads (seq, hash, time) that verification compares the chain with.
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = "0016"
branch_labels = None
depends_on = None

LOCK_KEY = 424242  # internal_affairs.audit.actions.CHAIN_LOCK_KEY
GENESIS = "0" * 64  # internal_affairs.audit.actions.GENESIS


def upgrade():
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"])
    op.create_index("ix_audit_event_on_behalf_of_id", "audit_event", ["on_behalf_of_id"])
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("algorithm", sa.String(length=20), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("timestamp_token", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_audit_checkpoint_created_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )
    op.create_index("ix_audit_checkpoint_seq", "audit_checkpoint", ["seq"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION ia_audit_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    for table in ("audit_event", "audit_checkpoint"):
        op.execute(f"CREATE TRIGGER ia_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION ia_audit_immutable()")
        op.execute(f"CREATE TRIGGER ia_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION ia_audit_immutable()")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION ia_audit_append(
            canonical_head text, p_occurred_at timestamp, p_actor_id integer, p_actor_label varchar,
            p_on_behalf_of_id integer, p_action varchar, p_object_type varchar, p_object_id varchar, p_data json,
            p_client_address varchar, OUT new_seq integer, OUT new_hash varchar)
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
                                     object_id, data, prev_hash, hash, client_address)
            VALUES (new_seq, p_occurred_at, p_actor_id, p_actor_label, p_on_behalf_of_id, p_action, p_object_type,
                    p_object_id, p_data, tip_hash, new_hash, p_client_address);
        END
        $$
    """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ia_audit_append(text, timestamp, integer, varchar, integer, varchar, "
                   "varchar, varchar, json, varchar)")
        for table in ("audit_event", "audit_checkpoint"):
            op.execute(f"DROP TRIGGER IF EXISTS ia_{table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS ia_{table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ia_audit_immutable()")
    op.drop_index("ix_audit_checkpoint_seq", table_name="audit_checkpoint")
    op.drop_table("audit_checkpoint")
    op.drop_index("ix_audit_event_on_behalf_of_id", table_name="audit_event")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("client_address")
