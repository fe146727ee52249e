"""seal registry, seal-use log, sealed records of finished cases

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "seal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("key_kind", sa.String(length=10), nullable=False),
        sa.Column("pkcs12_path", sa.Text(), nullable=True),
        sa.Column("pkcs11_module", sa.Text(), nullable=True),
        sa.Column("token_label", sa.String(length=100), nullable=True),
        sa.Column("key_label", sa.String(length=100), nullable=True),
        sa.Column("secret_name", sa.String(length=100), nullable=True),
        sa.Column("keeper_role", sa.String(length=50), nullable=False),
        sa.Column("active_from", sa.DateTime(), nullable=False),
        sa.Column("active_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seal_agency_purpose", "seal", ["agency_id", "purpose"])
    op.create_table(
        "seal_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seal_id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=80), nullable=False),
        sa.Column("triggered_by_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["seal_id"], ["seal.id"]),
        sa.ForeignKeyConstraint(["triggered_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seal_use_seal", "seal_use", ["seal_id", "used_at"])
    op.create_index("ix_seal_use_object", "seal_use", ["object_type", "object_id"])
    op.create_table(
        "sealed_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trigger", sa.String(length=80), nullable=False),
        sa.Column("triggered_by_id", sa.Integer(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["triggered_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_sealed_record_due", "sealed_record", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_sealed_record_due", table_name="sealed_record")
    op.drop_table("sealed_record")
    op.drop_index("ix_seal_use_object", table_name="seal_use")
    op.drop_index("ix_seal_use_seal", table_name="seal_use")
    op.drop_table("seal_use")
    op.drop_index("ix_seal_agency_purpose", table_name="seal")
    op.drop_table("seal")
