"""Imports every model module so that Alembic and the app see the whole schema."""

from .audit.models import AuditCheckpoint, AuditEvent  # noqa: F401
from .auth.models import ApiToken, LoginFailure, LoginSession  # noqa: F401
from .org.models import Agency, Department, OrgGroup, OrgGroupMember, Person, SyncRun  # noqa: F401
from .matters.models import MatterType, MatterVersion  # noqa: F401
from .calendar.models import CalendarOverride  # noqa: F401
from .cases.models import (Attachment, Case, CaseCC, CaseCounter, CaseMaterial, CaseRevision,  # noqa: F401
                           CaseStep, Reminder, Task)
from .delegation.models import Delegation  # noqa: F401
from .notify.models import NotifyPreference, OutboxMessage  # noqa: F401
from .jobs.models import SchedulerLease, TimeMark  # noqa: F401
from .stats.models import CaseRating  # noqa: F401
from .seals.models import Seal, SealedRecord, SealUse  # noqa: F401
from .documents.models import (Document, DocumentCounter, DocumentDelivery, DocumentSeries,  # noqa: F401
                               DocumentSignature, DocumentVersion)
