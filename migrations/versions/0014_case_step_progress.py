"""a step's progress in a column of its own, out of its planned spec

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:00:00

The engine kept a parallel step's finished branches and the place to resume after a return in
hidden keys of ``case_step.spec`` (``_done_branches``, ``_resume``), the same document the route
preview shows. They move to ``case_step.progress`` (``done_branches``, ``resume``); downgrade puts
them back.
"""
import json

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = "0013"
branch_labels = None
depends_on = None

_steps = sa.table("case_step", sa.column("id", sa.Integer), sa.column("spec", sa.JSON),
                  sa.column("progress", sa.JSON(none_as_null=True)))


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade():
    with op.batch_alter_table("case_step") as batch:
        batch.add_column(sa.Column("progress", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_steps.c.id, _steps.c.spec)).all()
    for step_id, spec in rows:
        spec = _load(spec) or {}
        if "_done_branches" not in spec and "_resume" not in spec:
            continue
        progress = {}
        if spec.get("_done_branches"):
            progress["done_branches"] = list(spec["_done_branches"])
        if spec.get("_resume"):
            progress["resume"] = spec["_resume"]
        clean = {k: v for k, v in spec.items() if k not in ("_done_branches", "_resume")}
        conn.execute(_steps.update().where(_steps.c.id == step_id).values(spec=clean, progress=progress or None))


def downgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(_steps.c.id, _steps.c.spec, _steps.c.progress)
                        .where(_steps.c.progress.isnot(None))).all()
    for step_id, spec, progress in rows:
        spec, progress = _load(spec) or {}, _load(progress) or {}
        if progress.get("done_branches"):
            spec["_done_branches"] = progress["done_branches"]
        if progress.get("resume"):
            spec["_resume"] = progress["resume"]
        conn.execute(_steps.update().where(_steps.c.id == step_id).values(spec=spec))
    with op.batch_alter_table("case_step") as batch:
        batch.drop_column("progress")
