"""delegations (代理) and where a person's default deputy came from

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00

A delegation lets a delegate act for a principal within a window; revoking keeps the row. The
inbox asks for the delegations active at ``now`` reaching a person, so the windows are indexed
by delegate, by principal and alone. ``person.default_deputy_source`` tells a deputy set by hand
(``manual``) from one seeded by the directory sync (``directory``), which a sync must not override.
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("matter_types", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("proposed", sa.Boolean(), nullable=False),
        sa.Column("source_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["principal_id"], ["person.id"], name=op.f("fk_delegation_principal_id_person")),
        sa.ForeignKeyConstraint(["delegate_id"], ["person.id"], name=op.f("fk_delegation_delegate_id_person")),
        sa.ForeignKeyConstraint(["source_case_id"], ["case.id"], name=op.f("fk_delegation_source_case_id_case")),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_delegation_created_by_id_person")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["person.id"], name=op.f("fk_delegation_revoked_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation")),
    )
    op.create_index("ix_delegation_delegate_window", "delegation", ["delegate_id", "ends_at", "starts_at"])
    op.create_index("ix_delegation_principal_window", "delegation", ["principal_id", "ends_at", "starts_at"])
    op.create_index("ix_delegation_window", "delegation", ["ends_at", "starts_at"])
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("default_deputy_source", sa.String(length=10), nullable=True))
    op.execute("UPDATE person SET default_deputy_source = 'manual' WHERE default_deputy_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table("person") as batch:
        batch.drop_column("default_deputy_source")
    op.drop_index("ix_delegation_window", table_name="delegation")
    op.drop_index("ix_delegation_principal_window", table_name="delegation")
    op.drop_index("ix_delegation_delegate_window", table_name="delegation")
    op.drop_table("delegation")
