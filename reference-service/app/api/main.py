"""The /api/v1 router: every resource's routes, in the order the OpenAPI document lists them.

The probes (/health, /health/detailed) are not here: app.main makes them the app's own
first routes.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import generations, jobs, ping, videos

# The resources' routes are taken over as they are (each already carries its router's
# tags, dependencies and responses) rather than included: this FastAPI matches every
# included router per request through a wrapper, so nested routers would add that work to
# every /api/v1 request (a third more calls than one router).
api_router = APIRouter(
    routes=[
        *ping.router.routes,
        *videos.router.routes,
        *generations.router.routes,
        *jobs.router.routes,
    ]
)
