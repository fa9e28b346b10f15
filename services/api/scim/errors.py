"""SCIM errors: `application/scim+json` bodies with the Error schema (RFC 7644 §3.12), for
the identity provider's client to read; never problem+json here."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from services.api.scim.documents import ERROR_SCHEMA, MEDIA_TYPE


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def scim_response(status: int, body: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def scim_error_response(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return scim_response(status, body, headers)


async def scim_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ScimError)
    return scim_error_response(error.status, error.detail, error.scim_type)
