"""``bench/cases.py``, part 3: the bulk copy that multiplies the engine-made template cases to
district size.

Nothing here names a column: the tables a case owns (``case`` and every table with a foreign key
to it) and their columns are read from the models' metadata, so a migration that adds a column or
a table hanging off a case is copied without touching this file. Each clone gets new ids (its
rows keep their order), a new gapless number, its applicant, a title and form dates of its own,
and every timestamp moved by its shift; foreign keys follow the clone (to the case and to rows of
the case's own tables), and people who were the template's applicant become the clone's. The
clones' audit events are appended through the audit module's public batch append ``record_events``
(the chain stays valid by construction, ``flask audit verify`` passes)."""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from _cases_engine import Org
from _cases_setup import TZ, conninfo, log

TASK_KEYS = ("task_id", "replacement", "added_task", "consult_task")
"""Keys of an audit event's data that hold a task id of the event's case (``tasks``: a list of them)."""


@dataclass
class Template:
    id: int
    group: tuple
    category: str
    applicant_id: int
    agency_id: int
    created_at: datetime
    submitted_at: datetime | None
    number: str | None
    title: str
    form: dict
    steps: int = 0
    tasks: int = 0
    events: list = field(default_factory=list)


def load_templates(made: dict[int, tuple]) -> dict[int, Template]:
    """The template cases (``made``: id -> (group, category)) with their step and task counts."""
    from sqlalchemy import func, select

    from internal_affairs.cases.models import Case, CaseStep, Task
    from internal_affairs.extensions import db

    ids = sorted(made)
    templates: dict[int, Template] = {}
    for case in db.session.execute(select(Case).where(Case.id.in_(ids))).scalars():
        group, category = made[case.id]
        templates[case.id] = Template(case.id, group, category, case.applicant_id, case.agency_id, case.created_at,
                                      case.submitted_at, case.number, case.title, dict(case.form))
    for model, attr in ((CaseStep, "steps"), (Task, "tasks")):
        for case_id, n in db.session.execute(select(model.case_id, func.count()).where(model.case_id.in_(ids))
                                             .group_by(model.case_id)).all():
            setattr(templates[case_id], attr, n)
    db.session.expunge_all()
    return templates


def plan_clones(rng: random.Random, org: Org, templates: dict[int, Template], n_clones: int, n_tasks: int,
                open_fraction: float, real_now: datetime) -> tuple[list[dict], dict]:
    """Which template each clone copies, for whom, and when, so that the clones hold exactly
    ``n_tasks`` tasks (templates are swapped within the applicant's group until they do)."""
    by_group: dict[tuple, list[Template]] = defaultdict(list)
    for t in templates.values():
        by_group[(t.group, t.category)].append(t)
    for ts in by_group.values():
        ts.sort(key=lambda t: (t.tasks, t.id))
    applicants = {cat: [pid for pid in org.people if (org.group_of.get(pid), cat) in by_group]
                  for cat in ("closed", "open")}
    clones = []
    for _ in range(n_clones):
        category = "open" if rng.random() < open_fraction else "closed"
        pid = rng.choice(applicants[category])
        t = rng.choice(by_group[(org.group_of[pid], category)])
        clones.append({"template": t, "applicant": pid, "category": category})
    total = sum(c["template"].tasks for c in clones)
    swaps = 0
    for _attempt in range(40 * max(1, n_clones)):
        diff = n_tasks - total
        if diff == 0:
            break
        c = clones[rng.randrange(n_clones)]
        cur = c["template"]
        options = [t for t in by_group[(cur.group, c["category"])]
                   if (0 < t.tasks - cur.tasks <= diff) or (diff <= t.tasks - cur.tasks < 0)]
        if options:
            new = rng.choice(options)
            total += new.tasks - cur.tasks
            c["template"] = new
            swaps += 1
    # when: whole weeks back (closed: over three years; in flight: within the last two weeks)
    weeks_back = 156
    for c in clones:
        weeks = rng.randint(0, weeks_back) if c["category"] == "closed" else rng.randint(0, 1)
        shift = timedelta(weeks=-weeks, seconds=-rng.uniform(0, 3 * 3600))
        c["shift"] = shift
        c["at"] = c["template"].created_at + shift
    clones.sort(key=lambda c: c["at"])
    stats = {"templates_swapped_to_hit_task_total": swaps, "clone_tasks": total, "clone_tasks_target": n_tasks,
             "open_fraction": open_fraction}
    return clones, stats


def _shift_form(form: dict, days: int) -> tuple[dict, dict[str, str]]:
    out, replaced = dict(form), {}
    for key in ("start_date", "end_date", "date"):
        value = form.get(key)
        if isinstance(value, str) and len(value) == 10:
            new = (date.fromisoformat(value) + timedelta(days=days)).isoformat()
            out[key], replaced[value] = new, new
    return out, replaced



def case_tables() -> tuple[list, dict]:
    """The tables whose rows belong to a case, parents first (``case``, then every table with a
    foreign key to it), and for each but ``case`` the column that names its case."""
    from internal_affairs.extensions import db

    owned, case_column = [], {}
    for table in db.metadata.sorted_tables:
        if table.name == "case":
            owned.append(table)
            continue
        to_case = [col for col in table.columns if any(fk.column.table.name == "case" for fk in col.foreign_keys)]
        if to_case:
            owned.append(table)
            case_column[table.name] = to_case[0].name
    return owned, case_column


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pk(table) -> str:
    (column,) = table.primary_key.columns
    return column.name


def clone_statement(table, owned: set[str], overrides: dict[str, str]) -> str:
    """``INSERT … SELECT`` copying every column of ``table`` (whatever columns it has today) from
    the template's rows to the clone's (``bench_clone c``, the template case ``tc``)."""
    from sqlalchemy import DateTime

    from internal_affairs.cases.models import Case

    applicant = Case.__table__.c.applicant_id.name
    if table.name == "case":
        source = f'FROM bench_clone c JOIN "case" s ON s.id = c.template_id JOIN "case" tc ON tc.id = c.template_id'
        new_id = "c.case_id"
    else:
        source = (f"FROM bench_clone c JOIN bench_map_{table.name} m ON m.template_id = c.template_id "
                  f"JOIN {_q(table.name)} s ON s.{_q(_pk(table))} = m.old_id JOIN \"case\" tc ON tc.id = c.template_id")
        new_id = f"c.base_{table.name} + m.ord"
    names, exprs, joins = [], [], []
    for col in table.columns:
        names.append(_q(col.name))
        ref = f"s.{_q(col.name)}"
        targets = {fk.column.table.name for fk in col.foreign_keys}
        if col.name in overrides:
            exprs.append(overrides[col.name])
        elif col.primary_key:
            exprs.append(new_id)
        elif "case" in targets:
            exprs.append("c.case_id")
        elif targets & owned:
            (target,) = targets & owned
            alias = f"x_{col.name}"
            joins.append(f"LEFT JOIN bench_map_{target} {alias} ON {alias}.old_id = {ref}")
            exprs.append(f"c.base_{target} + {alias}.ord")
        elif "person" in targets:
            exprs.append(f"CASE WHEN {ref} = tc.{_q(applicant)} THEN c.applicant_id ELSE {ref} END")
        elif isinstance(col.type, DateTime):
            exprs.append(f"{ref} + c.shift")
        else:
            exprs.append(ref)
    return (f'INSERT INTO {_q(table.name)} ({", ".join(names)}) SELECT {", ".join(exprs)} {source} '
            f'{" ".join(joins)} ORDER BY 1')


def _numbers(org: Org, templates: dict[int, Template], clones: list[dict]) -> dict[tuple[int, int], int]:
    """Give each clone its number (gapless per agency and year, after the engine's), title and
    form; returns the counters as they end."""
    from sqlalchemy import select

    from internal_affairs.cases.models import CaseCounter
    from internal_affairs.extensions import db

    counters = {(a, y): n for a, y, n in db.session.execute(
        select(CaseCounter.agency_id, CaseCounter.year, CaseCounter.last)).all()}
    db.session.rollback()
    for c in clones:
        t: Template = c["template"]
        days = c["shift"].days + (1 if c["shift"].seconds else 0)  # the date part of a whole-week shift
        form, replaced = _shift_form(t.form, days)
        old_name, new_name = org.people[t.applicant_id]["name"], org.people[c["applicant"]]["name"]
        title = t.title.replace(old_name, new_name, 1)
        for old, new in replaced.items():
            title = title.replace(old, new)
        c["form"], c["title"] = form, title
        if t.number is None:
            c["number"] = None
        else:
            year = (t.submitted_at + c["shift"]).replace(tzinfo=timezone.utc).astimezone(TZ).year
            n = counters.get((t.agency_id, year), 0) + 1
            counters[(t.agency_id, year)] = n
            c["number"] = f"{org.agency_names[t.agency_id]}-{year}-{n:06d}"
    return counters


def _save_counters(counters: dict[tuple[int, int], int]) -> None:
    from sqlalchemy.dialects.postgresql import insert

    from internal_affairs.cases.models import CaseCounter
    from internal_affairs.extensions import db

    if counters:
        stmt = insert(CaseCounter).values([{"agency_id": a, "year": y, "last": n} for (a, y), n in counters.items()])
        db.session.execute(stmt.on_conflict_do_update(index_elements=[CaseCounter.agency_id, CaseCounter.year],
                                                      set_={"last": stmt.excluded["last"]}))
    db.session.commit()


def bulk_clone(url: str, org: Org, templates: dict[int, Template], clones: list[dict]) -> dict:
    """Insert the clones (every table a case owns), move the counters and sequences on, and
    append the clones' audit events. Runs in an app context."""
    import psycopg

    from internal_affairs.extensions import db

    timings: dict = {}
    owned, case_column = case_tables()
    owned_names = {t.name for t in owned}
    children = [t for t in owned if t.name != "case"]
    ids = sorted(templates)
    started = time.perf_counter()
    counters = _numbers(org, templates, clones)
    with psycopg.connect(conninfo(url)) as conn:
        cur = conn.cursor()
        # per owned table: the template's rows in order (``ord``), and how many each template has
        sizes: dict[str, dict[int, int]] = {}
        for table in children:
            name, col, pk = table.name, _q(case_column[table.name]), _q(_pk(table))
            cur.execute(f"CREATE TEMP TABLE bench_map_{name} AS SELECT {col} AS template_id, {pk} AS old_id, "
                        f"row_number() OVER (PARTITION BY {col} ORDER BY {pk}) - 1 AS ord "
                        f"FROM {_q(name)} WHERE {col} = ANY(%s)", (ids,))
            cur.execute(f"CREATE INDEX ON bench_map_{name} (old_id); ANALYZE bench_map_{name}")
            sizes[name] = dict(cur.execute(f"SELECT template_id, count(*) FROM bench_map_{name} GROUP BY 1"))
        nexts = {t.name: cur.execute(f"SELECT coalesce(max({_q(_pk(t))}), 0) + 1 FROM {_q(t.name)}").fetchone()[0]
                 for t in owned}
        for c in clones:
            t = c["template"]
            c["case_id"] = nexts["case"]
            nexts["case"] += 1
            for name in sizes:
                c[f"base_{name}"] = nexts[name]
                nexts[name] += sizes[name].get(t.id, 0)
        bases = [f"base_{name}" for name in sizes]
        cur.execute("CREATE TEMP TABLE bench_clone (case_id int PRIMARY KEY, template_id int, applicant_id int, "
                    "shift interval, number text, title text, form json"
                    + "".join(f", {b} int" for b in bases) + ")")
        with cur.copy(f"COPY bench_clone (case_id, template_id, applicant_id, shift, number, title, form"
                      f"{''.join(', ' + b for b in bases)}) FROM STDIN") as copy:
            for c in clones:
                copy.write_row((c["case_id"], c["template"].id, c["applicant"], c["shift"], c["number"], c["title"],
                                json.dumps(c["form"]), *(c[b] for b in bases)))
        cur.execute("ANALYZE bench_clone")
        timings["plan_and_copy_seconds"] = round(time.perf_counter() - started, 1)

        case_overrides = {"number": "c.number", "title": "c.title", "form": "c.form"}
        for table in owned:
            started = time.perf_counter()
            cur.execute(clone_statement(table, owned_names, case_overrides if table.name == "case" else {}))
            timings[f"insert_{table.name}_seconds"] = round(time.perf_counter() - started, 1)
            log(f"  cloned {table.name}: {cur.rowcount} rows in {timings[f'insert_{table.name}_seconds']} s")
        # rows of the templates in tables that point at a case's rows without naming the case
        skipped = {}
        for table in db.metadata.sorted_tables:
            if table.name in owned_names:
                continue
            for col in table.columns:
                target = {fk.column.table.name for fk in col.foreign_keys} & owned_names
                if target:
                    (target,) = target
                    keys = "SELECT template_id FROM bench_clone" if target == "case" else \
                        f"SELECT old_id FROM bench_map_{target}"
                    n = cur.execute(f"SELECT count(*) FROM {_q(table.name)} WHERE {_q(col.name)} IN ({keys})"
                                    ).fetchone()[0]
                    if n:
                        skipped[f"{table.name}.{col.name}"] = n
        timings["template_rows_not_cloned"] = skipped
        for table in owned:
            cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT coalesce(max({_q(_pk(table))}), 1) "
                        f"FROM {_q(table.name)}))", (_q(table.name), _pk(table)))
        task_ord = {old: o for old, o in cur.execute("SELECT old_id, ord FROM bench_map_task")} \
            if "task" in sizes else {}
        conn.commit()
    _save_counters(counters)

    started = time.perf_counter()
    events = clone_audit(org, templates, clones, task_ord)
    timings["audit_events_cloned"] = events
    timings["audit_seconds"] = round(time.perf_counter() - started, 1)
    log(f"  cloned audit_event: {events} events appended in {timings['audit_seconds']} s")
    return timings


def clone_audit(org: Org, templates: dict[int, Template], clones: list[dict], task_ord: dict[int, int],
                batch: int = 2000) -> int:
    """Append each clone's copy of its template's case events through the audit module's public
    batch append ``record_events`` (ids and numbers of the clone, its applicant as the actor where
    the template's was, times shifted), ``batch`` events a call."""
    from sqlalchemy import select

    from internal_affairs.audit.actions import Event, record_events
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.extensions import db

    for event in db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "case")
                                    .order_by(AuditEvent.seq)).scalars():
        case_id = event.data.get("case_id") if isinstance(event.data, dict) else None
        if case_id in templates:
            templates[case_id].events.append((event.occurred_at, event.actor_id, event.actor_label,
                                              event.on_behalf_of_id, event.action, event.object_id,
                                              json.dumps(event.data)))
    db.session.expunge_all()
    db.session.commit()
    uids = {pid: p["uid"] for pid, p in org.people.items()}
    events = 0
    pending: list = []
    for c in clones:
        t: Template = c["template"]
        for occurred, actor, label, behalf, action, oid, data_text in t.events:
            object_id = str(c["case_id"]) if oid == str(t.id) else c["number"] if oid == t.number else oid
            data = json.loads(data_text)
            data["case_id"] = c["case_id"]
            if "number" in data:
                data["number"] = c["number"]
            for key in TASK_KEYS:
                if isinstance(data.get(key), int) and data[key] in task_ord:
                    data[key] = c["base_task"] + task_ord[data[key]]
            if isinstance(data.get("tasks"), list):
                data["tasks"] = [c["base_task"] + task_ord.get(x, 0) for x in data["tasks"]]
            if actor == t.applicant_id:
                actor, label = c["applicant"], uids[c["applicant"]]
            pending.append(Event(action, "case", object_id, occurred + c["shift"], actor_id=actor,
                                 actor_label=label or "system", on_behalf_of_id=behalf, data=data))
            if len(pending) == batch:
                events += record_events(pending)
                db.session.commit()
                pending = []
    events += record_events(pending)
    db.session.commit()
    return events


def settle(url: str, vacuum: bool) -> float:
    """``VACUUM (ANALYZE)`` (what autovacuum would do after a bulk load), a ``CHECKPOINT`` (so the
    load's dirty pages are not written during the measurements), then wait (at most 120 s) until
    no autovacuum worker runs."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        if vacuum:
            conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'").fetchone()[0]:
            time.sleep(1)
    return round(time.perf_counter() - started, 1)

