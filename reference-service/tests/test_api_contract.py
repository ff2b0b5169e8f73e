"""The API answers what its OpenAPI document says: every status it sends is documented in
the shape it has, `Allow` names the path's documented methods, the page window is bounded,
and the links from a created job lead to routes that take its id. Each test pins a finding
of the Schemathesis run (tox -e fuzz)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.api.routes.jobs import MAX_OFFSET
from tests.conftest import Api

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}
# The offset Schemathesis found: past SQLite's 64-bit integers, it was a 500.
HUGE_OFFSET = 3690768844316156965038752505266176
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def openapi(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == code and body["detail"]


# --- the huge offset -------------------------------------------------------------------


def test_huge_offset_is_a_422_not_a_500(api: Api) -> None:
    response = api.client.get("/api/v1/jobs", params={"offset": HUGE_OFFSET, "limit": 80})
    assert_error(response, 422, "invalid_request")
    assert "offset" in response.json()["detail"]


def test_the_largest_documented_offset_is_an_empty_page(api: Api) -> None:
    response = api.client.get("/api/v1/jobs", params={"offset": MAX_OFFSET})
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": MAX_OFFSET}
    (offset,) = (
        parameter["schema"]
        for parameter in openapi(api)["paths"]["/api/v1/jobs"]["get"]["parameters"]
        if parameter["name"] == "offset"
    )
    assert offset["minimum"] == 0 and offset["maximum"] == MAX_OFFSET


# --- undocumented statuses and shapes --------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/generations", "/api/v1/videos/compose"])
def test_unparsable_json_body_is_a_documented_400(api: Api, path: str) -> None:
    response = api.client.post(
        path, content=b"\xff{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "bad_request")
    documented = openapi(api)["paths"][path]["post"]["responses"]
    assert documented["400"]["content"]["application/json"]["schema"] == ERROR_SCHEMA


def test_every_documented_error_has_the_shape_errors_have(api: Api) -> None:
    """Validation errors are {"detail": str, "code": str} here, not FastAPI's default list."""
    document = openapi(api)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR_SCHEMA, f"{method.upper()} {path} {status}"


def test_a_validation_error_matches_its_documented_shape(api: Api) -> None:
    response = api.client.get("/api/v1/jobs", params={"offset": -1})
    assert_error(response, 422, "invalid_request")
    assert "422" in openapi(api)["paths"]["/api/v1/jobs"]["get"]["responses"]


def test_compose_documents_the_clip_limit_it_enforces(api: Api) -> None:
    schema = openapi(api)["components"]["schemas"]["ComposeIn"]["properties"]["video_ids"]
    limit = api.settings.compose_max_clips
    assert schema["minItems"] == 2 and schema["maxItems"] == limit
    ids = ["0" * 32] * limit
    # Within the documented bounds the ids are looked up (unknown: 404), past them it is a 422.
    assert_error(
        api.client.post("/api/v1/videos/compose", json={"video_ids": ids}), 404, "not_found"
    )
    too_many = {"video_ids": [*ids, "0" * 32]}
    assert_error(api.client.post("/api/v1/videos/compose", json=too_many), 422, "invalid_request")


# --- Allow ------------------------------------------------------------------------------


def concrete(path: str) -> str:
    return path.replace("{job_id}", "0" * 32)


def test_405_allow_lists_the_documented_methods_of_every_path(api: Api) -> None:
    for path, item in openapi(api)["paths"].items():
        documented = {method.upper() for method in item if method in HTTP_METHODS}
        for method in ("OPTIONS", "PUT", "PATCH", "TRACE"):
            if method in documented:
                continue
            response = api.client.request(method, concrete(path))
            assert_error(response, 405, "method_not_allowed")
            allowed = {part.strip() for part in response.headers["allow"].split(",")}
            assert allowed == documented, f"{method} {path}: Allow {allowed}"


def test_one_job_allows_get_and_delete(api: Api) -> None:
    response = api.client.options("/api/v1/jobs/" + "0" * 32)
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET"


def test_compose_is_its_own_resource(api: Api) -> None:
    # The literal path wins over /videos/{job_id}: Allow names POST, not GET.
    assert api.client.options("/api/v1/videos/compose").headers["allow"] == "POST"
    assert api.client.get("/api/v1/videos/compose").status_code == 404


# --- links and the upload body ----------------------------------------------------------


def test_links_from_created_jobs_name_real_operations(api: Api) -> None:
    document = openapi(api)
    by_id = {op["operationId"]: (path, op) for path, _, op in operations(document)}
    creators = {
        "upload_video": 6,
        "compose_videos": 5,
        "create_generation": 3,
    }
    for creator, count in creators.items():
        links = by_id[creator][1]["responses"]["202"]["links"]
        assert len(links) == count, creator
        for link in links.values():
            path, target = by_id[link["operationId"]]
            names = {parameter["name"] for parameter in target.get("parameters", [])}
            assert set(link.get("parameters", {})) <= names, (creator, link)
            if "parameters" in link:
                assert "{job_id}" in path


def test_following_the_upload_links_reaches_the_job(api: Api, clips: dict[str, Path]) -> None:
    created = api.upload(clips["silent_odd"])
    assert created.status_code == 202
    job_id = created.json()["id"]
    links = openapi(api)["paths"]["/api/v1/videos"]["post"]["responses"]["202"]["links"]
    assert links["get_job"]["parameters"] == {"job_id": "$response.body#/id"}
    assert api.client.get(f"/api/v1/jobs/{job_id}").json()["id"] == job_id
    finished = api.wait(job_id)
    assert finished["status"] == "succeeded"
    composed = api.client.post("/api/v1/videos/compose", json={"video_ids": [job_id, job_id]})
    assert composed.status_code == 202, composed.text
    api.wait(composed.json()["id"])


def test_upload_body_documents_a_video_file(api: Api) -> None:
    body = openapi(api)["paths"]["/api/v1/videos"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]
    assert body["required"] is True
    assert form["schema"]["required"] == ["file"]
    assert form["schema"]["properties"]["file"]["format"] == "binary"
    assert form["encoding"]["file"]["contentType"] == "video/*"
