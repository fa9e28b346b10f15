"""`POST /v1/apply`, `POST /v1/export` and the documents' JSON Schema (SPEC §18).

Anyone who may read may call them; each object an apply would change is then decided by
the policy with the caller's own permissions (a lead's apply outside their subtree is a
403 naming the document, and nothing is written).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from services.api.apply.documents import schema_text
from services.api.apply.kinds import Outbound
from services.api.apply.schemas import ApplyRequest, Exported, ExportRequest, Plan
from services.api.apply.service import Applier, parse_documents
from services.api.audit import Audit
from services.api.dependencies import Reader, Session

router = APIRouter(tags=["goals as code"])


@router.post(
    "/v1/apply",
    response_model=Plan,
    summary="Apply documents",
    description="Creates, changes (and with `prune`, deletes) objects so the server holds "
    "what the documents say, all or nothing, in one transaction, in dependency order. "
    "Answers the plan: what changed (or with `dry_run`, what would). Only the fields a "
    "document gives are compared and written. Invalid documents or unknown references "
    "are a 422 (`errors[].field` = `documents.<index>.<path>`); a document whose "
    "`metadata.version` is older than its object's last change, when the apply would "
    "change it, a 409 naming it; an object outside the caller's permissions a 403 naming "
    "it. Changing target, baseline, thresholds or due of a started goal needs "
    "`metadata.reason`, kept in the goal's history.",
    responses={409: {"description": "An object changed on the server since its export."}},
)
async def apply(
    body: ApplyRequest, request: Request, session: Session, actor: Reader, audit: Audit
) -> Plan:
    documents = parse_documents(body.documents)
    outbound = Outbound(
        box=request.app.state.webhook_box,
        allow_private=request.app.state.outbound.webhook_allow_private_networks,
        settings=request.app.state.notification_settings,
    )
    applier = Applier(session, actor, None if body.dry_run else audit, datetime.now(UTC), outbound)
    prune = body.prune.labels if body.prune else None
    changes = await applier.apply(documents, prune)
    if body.dry_run:
        await session.rollback()
    else:
        await session.commit()
    return Plan(dry_run=body.dry_run, changes=changes)


@router.post(
    "/v1/export",
    response_model=Exported,
    summary="Export documents",
    description="The organisation (or one unit's subtree) as northstar/v1 documents that "
    "round-trip: applying them changes nothing. Each carries `metadata.version`. An object "
    "without a document name is given one (from its title) and keeps it.",
)
async def export(body: ExportRequest, session: Session, actor: Reader) -> Exported:
    applier = Applier(session, actor, None, datetime.now(UTC))
    documents = await applier.export(body.unit)
    await session.commit()  # the names given to objects exported for the first time
    return Exported(documents=documents)


@router.get(
    "/v1/schema/northstar-v1.json",
    response_model=None,
    summary="The documents' JSON Schema",
    description="JSON Schema (2020-12) of one northstar/v1 document, generated from the "
    "same models the api validates with; point an editor's YAML support at it.",
    responses={200: {"content": {"application/schema+json": {}}}},
)
async def document_schema(_: Reader) -> Response:
    return Response(schema_text(), media_type="application/schema+json")
