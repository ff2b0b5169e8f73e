"""A route class whose 405 answers name every method of the resource, not only its own.

GET and DELETE of one job are two routes; Starlette answers a method neither takes from
whichever route it matched first, so `Allow` listed only GET. RFC 9110 (and the OpenAPI
document) say `Allow` lists what the resource supports.
"""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from app.api.schemas import error_responses
from app.security.auth import authenticate


class ResourceRoute(APIRoute):
    # Filled in by share_allowed_methods once the router's routes are all declared.
    resource_methods: frozenset[str] = frozenset()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.methods and scope["method"] not in self.methods:
            allowed = self.resource_methods or frozenset(self.methods)
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(sorted(allowed))})
        await super().handle(scope, receive, send)


def share_allowed_methods(router: APIRouter) -> None:
    """Give each route of `router` the methods of every route with the same path."""
    by_path: defaultdict[str, set[str]] = defaultdict(set)
    for route in router.routes:
        if isinstance(route, APIRoute):
            by_path[route.path].update(route.methods or ())
    for route in router.routes:
        if isinstance(route, ResourceRoute):
            route.resource_methods = frozenset(by_path[route.path])


def job_router() -> APIRouter:
    """A router for one job resource (videos, generations, jobs).

    Every route needs an API key when authentication is on (401), takes a parameter or a
    body (422, in ErrorOut's shape like every error here) and the job store (503 when it
    could not be opened). The key is checked before anything else. The operation IDs are
    the function names, which the routes' OpenAPI links refer to.
    """
    return APIRouter(
        tags=["jobs"],
        route_class=ResourceRoute,
        dependencies=[Depends(authenticate)],
        responses=error_responses(401, 422, 503),
        generate_unique_id_function=lambda route: route.name,
    )
