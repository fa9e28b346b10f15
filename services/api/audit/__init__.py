"""The audit trail: `trail` records every mutating request in its own transaction;
`routes` serves `GET /v1/audit` (admin)."""

from services.api.audit.trail import ActorRef, Audit, AuditTrail, changed_fields

__all__ = ["ActorRef", "Audit", "AuditTrail", "changed_fields"]
