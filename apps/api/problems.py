"""JSON problem documents (RFC 9457), the body of every API error."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

PROBLEM = "application/problem+json"


class ProblemOut(BaseModel):
    """An error: RFC 9457 fields, and the offending parameter when there is one."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"type": "about:blank", "title": "Invalid parameter", "status": 422,
         "detail": "max_depth: must be at most 30, got 99", "parameter": "max_depth"}]})

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Invalid parameter"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["max_depth: must be at most 30, got 99"])
    parameter: str | None = Field(None, description="The parameter at fault, when one is.", examples=["max_depth"])


def problem(status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting problem documents for these status codes."""
    return {status: {"model": ProblemOut, "description": f"{HTTPStatus(status).phrase} (problem document).",
                     "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}}
            for status in statuses}
