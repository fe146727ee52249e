"""Reading the org chart from a directory (LDAP or LDIF) and planning its sync. No Flask here."""

from .model import (DirEntry, DirGroup, DirPerson, DirUnit, ReadResult, Snapshot, SyncRefused,
                    SyncSourceError)
from .plan import Change, CurrentState, Guards, PlanWarning, SyncPlan, compute_plan
from .snapshot import DirectorySchema, build_snapshot, merge_incremental, normalize_dn, schema_for

__all__ = [
    "DirEntry", "DirGroup", "DirPerson", "DirUnit", "ReadResult", "Snapshot", "SyncRefused",
    "SyncSourceError", "Change", "CurrentState", "Guards", "PlanWarning", "SyncPlan", "compute_plan",
    "DirectorySchema", "build_snapshot", "merge_incremental", "normalize_dn", "schema_for",
]
