"""API keys for write endpoints: `Depends(require_api_key)` on every route that changes the graph.

Keys come from the app's ApiSettings.api_keys (BIOS_API_KEYS); the client sends one in the X-API-Key header.
No header is 401, an unknown key 403, and with no keys configured every write is refused (403): writes are off by
default.
Routes of the class KeyFirstRoute (the app's default) check the key before the request body is read, so an
unauthenticated client learns nothing from the body's validation and the server does not parse it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from bios_kg.graph.settings import ApiSettings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey",
                        description="Required by endpoints that write; keys are set with BIOS_API_KEYS.")


def require_api_key(request: Request, key: Annotated[str | None, Security(_api_key)]) -> str:
    return check_api_key(request.app.state.settings.api, key)


def check_api_key(settings: ApiSettings, key: str | None) -> str:
    if not settings.api_keys:
        raise HTTPException(403, "writes are disabled: no API keys are configured (BIOS_API_KEYS)")
    if not key:
        raise HTTPException(401, f"this endpoint writes: send an API key in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in settings.api_keys):
        raise HTTPException(403, f"the {API_KEY_HEADER} key is not valid")
    return key


class KeyFirstRoute(APIRoute):
    """A route that, when it depends on require_api_key, checks the key before FastAPI reads the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not any(dependency.call is require_api_key for dependency in self.dependant.dependencies):
            return handler

        async def key_first(request: Request) -> Response:
            check_api_key(request.app.state.settings.api, request.headers.get(API_KEY_HEADER))
            return await handler(request)

        return key_first
