"""Reading the org chart from a directory (LDAP or LDIF) and planning its sync. No Flask here."""

from .model import (DirEntry, DirGroup, DirPerson, DirUnit, ReadResult, Snapshot, SyncRefused,
                    SyncSourceError)
from .plan import Change, CurrentState, Guards, PlanWarning, SyncPlan, compute_incremental_plan, compute_plan
from .report import plan_lines
from .snapshot import DirectorySchema, build_snapshot, merge_incremental, normalize_dn, schema_for

__all__ = [
    "DirEntry", "DirGroup", "DirPerson", "DirUnit", "ReadResult", "Snapshot", "SyncRefused",
    "SyncSourceError", "Change", "CurrentState", "Guards", "PlanWarning", "SyncPlan", "compute_plan",
    "compute_incremental_plan", "plan_lines",
    "DirectorySchema", "build_snapshot", "merge_incremental", "normalize_dn", "schema_for",
]
