"""official documents: series settings, gapless counters, documents, versions, deliveries, signatures

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 05:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("prefix", sa.String(length=60), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "code"),
    )
    op.create_table(
        "document_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "prefix", "year"),
    )
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("drafter_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("series", sa.String(length=30), nullable=True),
        sa.Column("main_to", sa.JSON(), nullable=False),
        sa.Column("cc_to", sa.JSON(), nullable=False),
        sa.Column("countersign", sa.JSON(), nullable=False),
        sa.Column("secrecy", sa.String(length=10), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("verification", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["drafter_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_agency_direction_status", "document", ["agency_id", "direction", "status"])
    op.create_index("ix_document_number", "document", ["number"])
    op.create_index("ix_document_title", "document", ["title"])
    op.create_index("ix_document_source_id", "document", ["source_id"])
    op.create_index("ix_document_case_id", "document", ["case_id"])
    op.create_index("ix_document_drafter_id", "document", ["drafter_id"])
    op.create_table(
        "document_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "number"),
    )
    op.create_table(
        "document_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("incoming_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["incoming_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["registered_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "agency_id"),
    )
    op.create_index("ix_document_delivery_agency_id", "document_delivery", ["agency_id"])
    op.create_table(
        "document_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_signature_document_id", "document_signature", ["document_id"])


def downgrade():
    op.drop_index("ix_document_signature_document_id", table_name="document_signature")
    op.drop_table("document_signature")
    op.drop_index("ix_document_delivery_agency_id", table_name="document_delivery")
    op.drop_table("document_delivery")
    op.drop_table("document_version")
    for name in ("ix_document_drafter_id", "ix_document_case_id", "ix_document_source_id", "ix_document_title",
                 "ix_document_number", "ix_document_agency_direction_status"):
        op.drop_index(name, table_name="document")
    op.drop_table("document")
    op.drop_table("document_counter")
    op.drop_table("document_series")
