"""Generation through the real `replicate` client against a local fake of its API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, free_port
from tests.fake_replicate import Behaviour, FakeReplicate, FakeReplicateServer

TOKEN = "r8_test_token_value"


@pytest.fixture
def replicate_fake(clips: dict[str, Path]) -> Iterator[FakeReplicate]:
    with FakeReplicateServer() as fake:
        fake.behaviour.video = clips["mp4"]
        yield fake


@pytest.fixture
def gen_api(make_api: Callable[..., Api], replicate_fake: FakeReplicate) -> Api:
    return replicate_api(
        make_api,
        replicate_fake,
        replicate_http_timeout_seconds=2.0,
        replicate_timeout_seconds=30.0,
    )


def replicate_api(
    make_api: Callable[..., Api], replicate_fake: FakeReplicate, **settings: object
) -> Api:
    """An API whose generations go to the fake Replicate, polled every 50 ms."""
    return make_api(
        replicate_api_token=TOKEN,
        replicate_base_url=replicate_fake.url,
        replicate_poll_seconds=0.05,
        **settings,
    )


def generate(api: Api, **body: object) -> dict[str, Any]:
    response = api.client.post("/api/v1/generations", json={"prompt": "a red fox", **body})
    assert response.status_code == 202, response.text
    return api.wait(str(response.json()["id"]))


def test_without_token_is_503_and_health_says_so(api: Api) -> None:
    response = api.client.post("/api/v1/generations", json={"prompt": "x", "model": None})
    assert response.status_code == 503
    assert response.json()["code"] == "replicate_not_configured"
    detailed = api.client.get("/health/detailed").json()
    assert detailed["integrations"]["replicate"] is False


def test_generation_runs_model_downloads_and_normalises(
    gen_api: Api, replicate_fake: FakeReplicate
) -> None:
    job = generate(gen_api, model="acme/video-model")
    assert job["status"] == "succeeded", job["error"]
    assert job["kind"] == "generation"
    assert job["input"]["prompt"] == "a red fox" and job["input"]["model"] == "acme/video-model"
    result = job["result"]
    assert isinstance(result, dict) and result["video_codec"] == "h264"
    create = replicate_fake.requests[0]
    assert create[:2] == ("POST", "/v1/models/acme/video-model/predictions")
    assert create[2] == f"Bearer {TOKEN}"
    prediction = next(iter(replicate_fake.predictions.values()))
    assert prediction["input"] == {"prompt": "a red fox"}
    assert gen_api.client.get(f"/api/v1/generations/{job['id']}").json()["id"] == job["id"]
    assert gen_api.client.get(f"/api/v1/jobs/{job['id']}").json() == job
    assert gen_api.leftovers() == []


def test_default_model_and_pinned_version(gen_api: Api, replicate_fake: FakeReplicate) -> None:
    default = generate(gen_api)
    assert default["input"]["model"] == gen_api.settings.replicate_model
    version = "a" * 64
    generate(gen_api, model=f"acme/video-model:{version}")
    versioned = replicate_fake.requests[-1]
    assert any(r[:2] == ("POST", "/v1/predictions") for r in replicate_fake.requests)
    assert versioned[0] == "GET"
    assert any(p["version"] == version for p in replicate_fake.predictions.values())


def test_generation_ids_are_not_upload_ids(gen_api: Api, clips: dict[str, Path]) -> None:
    upload = gen_api.upload(clips["silent_odd"]).json()
    assert gen_api.client.get(f"/api/v1/generations/{upload['id']}").status_code == 404
    gen_api.wait(upload["id"])


def test_bad_request_bodies(gen_api: Api) -> None:
    for body in ({}, {"prompt": ""}, {"prompt": "x", "model": "../../etc"}):
        response = gen_api.client.post("/api/v1/generations", json=body)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"


def _failed_prediction(behaviour: Behaviour) -> None:
    behaviour.final_status = "failed"
    behaviour.error = "CUDA OOM"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda b: setattr(b, "create_status", 500), "Replicate API error (HTTP 500)"),
        (lambda b: setattr(b, "get_status", 500), "Replicate API error (HTTP 500)"),
        (lambda b: setattr(b, "create_delay", 3.0), "Replicate API timed out"),
        (_failed_prediction, "failed: CUDA OOM"),
        (lambda b: setattr(b, "output", None), "returned no video URL"),
        (lambda b: setattr(b, "output_status", 404), "output URL answered HTTP 404"),
        (
            lambda b: setattr(b, "output", f"http://127.0.0.1:{free_port()}/gone.mp4"),
            "could not be downloaded",
        ),
        (lambda b: setattr(b, "video", Path("/dev/null")), "not a usable video: the file is empty"),
    ],
    ids=[
        "create-5xx",
        "get-5xx",
        "http-timeout",
        "prediction-failed",
        "no-output",
        "output-404",
        "output-unreachable",
        "empty-output",
    ],
)
def test_replicate_faults_fail_the_job_cleanly(
    gen_api: Api,
    replicate_fake: FakeReplicate,
    setup: Callable[[Behaviour], object],
    reason: str,
) -> None:
    setup(replicate_fake.behaviour)
    job = generate(gen_api)
    assert job["status"] == "failed"
    assert reason in str(job["error"])
    assert job["result"] is None
    assert gen_api.client.get("/health").json()["status"] == "healthy"
    assert gen_api.leftovers() == []
    assert not (gen_api.settings.upload_dir / "jobs" / str(job["id"])).exists()


def test_prediction_that_never_finishes_is_cancelled(
    make_api: Callable[..., Api], replicate_fake: FakeReplicate
) -> None:
    replicate_fake.behaviour.polls_until_done = 10**9
    api = replicate_api(make_api, replicate_fake, replicate_timeout_seconds=0.5)
    job = generate(api)
    assert job["status"] == "failed"
    assert "timed out after 0.5 s" in str(job["error"])
    assert replicate_fake.cancelled == list(replicate_fake.predictions)


def test_delete_cancels_the_prediction(
    make_api: Callable[..., Api], replicate_fake: FakeReplicate
) -> None:
    replicate_fake.behaviour.polls_until_done = 10**9
    api = replicate_api(make_api, replicate_fake)
    job_id = api.client.post("/api/v1/generations", json={"prompt": "slow"}).json()["id"]
    deadline = time.monotonic() + 30
    while not replicate_fake.polls or max(replicate_fake.polls.values()) < 2:
        assert time.monotonic() < deadline, "the prediction was never polled"
        time.sleep(0.05)
    assert api.client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert api.client.get(f"/api/v1/generations/{job_id}").json()["status"] == "cancelled"
    assert replicate_fake.cancelled == list(replicate_fake.predictions)
    assert api.leftovers() == []
