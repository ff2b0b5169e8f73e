"""The probes' routes: the app's own first routes (no included-router matching per probe),
with the same OpenAPI entries as when they were an included router."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.routing import Route


def test_health_routes_are_matched_first(client: TestClient) -> None:
    first = [route.path for route in client.app.routes[:2] if isinstance(route, Route)]
    assert first == ["/health", "/health/detailed"]


def test_health_routes_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/health"]["get"]["tags"] == ["health"]
    assert paths["/health"]["get"]["operationId"] == "health_health_get"
    assert paths["/health/detailed"]["get"]["tags"] == ["health"]
    assert client.get("/health").json()["status"] == "healthy"
