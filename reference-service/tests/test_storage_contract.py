"""One contract for both result stores, run against each: files on local disk, and objects
in S3 (moto's server mode, spoken to by the real boto3). Then what only S3 has (a prefix,
failures of a remote service, credentials kept out of every message), and the API itself
with S3_BUCKET set: a real clip uploaded, normalised, downloaded and composed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.jobs.models import new_job_id
from app.storage import THUMBNAIL, VIDEO, JobFiles, LocalJobFiles, StorageUnavailable
from app.storage.s3 import S3JobFiles
from tests import moto_server
from tests.conftest import Api, free_port
from tests.media import probe
from tests.moto_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoS3, use_endpoint

# The S3 stand-in's fixtures, used here by name.
moto_endpoint = moto_server.moto_endpoint
moto_s3 = moto_server.moto_s3

PREFIX = "svc/results/"
VIDEO_BYTES = random.Random(1).randbytes(300_000)
THUMBNAIL_BYTES = b"\xff\xd8" + random.Random(2).randbytes(5_000)
CREDENTIALS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)


@dataclass
class Store:
    files: JobFiles
    durable: Callable[[str], list[str]]  # the names of a job's durable files
    add_durable: Callable[[str, str, bytes], None]
    client: TestClient  # serves GET /<job id>/<result name> with files.serve


def serving(files: JobFiles) -> TestClient:
    api = FastAPI()

    @api.get("/{job_id}/{name}")
    async def get(job_id: str, name: str, request: Request) -> Response:
        result = VIDEO if name == VIDEO.name else THUMBNAIL
        filename = f"{job_id}.mp4" if result is VIDEO else None
        response = await files.serve(job_id, result, request, filename=filename)
        return response if response is not None else Response(status_code=404)

    return TestClient(api)


def local_store(settings: Settings) -> Store:
    files = LocalJobFiles(settings.temp_dir, settings.upload_dir)

    def durable(job_id: str) -> list[str]:
        folder = files.results(job_id)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def add_durable(job_id: str, name: str, data: bytes) -> None:
        files.results(job_id).mkdir(parents=True, exist_ok=True)
        (files.results(job_id) / name).write_bytes(data)

    return Store(files, durable, add_durable, serving(files))


def s3_store(settings: Settings, s3: MotoS3) -> Store:
    files = S3JobFiles.from_settings(settings)

    def durable(job_id: str) -> list[str]:
        return [key.removeprefix(files.key(job_id)) for key in s3.keys(files.key(job_id))]

    def add_durable(job_id: str, name: str, data: bytes) -> None:
        s3.client.put_object(Bucket=s3.bucket, Key=files.key(job_id, name), Body=data)

    return Store(files, durable, add_durable, serving(files))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Store:
    if request.param == "local":
        return local_store(make_settings())
    s3: MotoS3 = request.getfixturevalue("moto_s3")
    return s3_store(make_settings(s3_bucket=s3.bucket, s3_prefix=PREFIX), s3)


def publish(files: JobFiles, job_id: str, video: bytes = VIDEO_BYTES) -> None:
    partial = files.partial_outputs(job_id)
    partial.video.write_bytes(video)
    partial.thumbnail.write_bytes(THUMBNAIL_BYTES)
    files.publish(job_id, partial)


# --- the contract -------------------------------------------------------------------------


def test_published_results_are_served_whole_with_their_types(store: Store) -> None:
    job_id = new_job_id()
    publish(store.files, job_id)
    video = store.client.get(f"/{job_id}/video.mp4")
    assert video.status_code == 200
    assert video.content == VIDEO_BYTES
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["content-length"] == str(len(VIDEO_BYTES))
    assert video.headers["accept-ranges"] == "bytes"
    assert video.headers["content-disposition"] == f'inline; filename="{job_id}.mp4"'
    thumbnail = store.client.get(f"/{job_id}/thumbnail.jpg")
    assert thumbnail.status_code == 200
    assert thumbnail.content == THUMBNAIL_BYTES
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert "content-disposition" not in thumbnail.headers


def test_ranges_are_served_for_seeking(store: Store) -> None:
    job_id = new_job_id()
    publish(store.files, job_id)
    size = len(VIDEO_BYTES)
    url = f"/{job_id}/video.mp4"
    part = store.client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.headers["content-length"] == "100"
    assert part.content == VIDEO_BYTES[100:200]
    tail = store.client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == VIDEO_BYTES[-10:]
    rest = store.client.get(url, headers={"Range": f"bytes={size - 5}-"})
    assert rest.status_code == 206 and rest.content == VIDEO_BYTES[-5:]
    beyond = store.client.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    # A range of a copy the client has not got (If-Range names another): the whole file.
    stale = store.client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"not-this-one"'})
    assert stale.status_code == 200 and stale.content == VIDEO_BYTES
    fresh = store.client.get(url, headers={"Range": "bytes=0-9", "If-Range": part.headers["etag"]})
    assert fresh.status_code == 206 and fresh.content == VIDEO_BYTES[:10]


def test_a_large_result_is_published_whole(store: Store) -> None:
    # Past boto3's multipart threshold (8 MiB): uploaded in parts, still one object.
    job_id = new_job_id()
    big = random.Random(3).randbytes(9 * 1024 * 1024 + 17)
    publish(store.files, job_id, video=big)
    response = store.client.get(f"/{job_id}/video.mp4")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(big))
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(big).digest()


def test_outputs_are_not_served_before_they_are_published(store: Store) -> None:
    job_id = new_job_id()
    partial = store.files.partial_outputs(job_id)
    partial.video.write_bytes(VIDEO_BYTES)
    partial.thumbnail.write_bytes(THUMBNAIL_BYTES)
    assert store.client.get(f"/{job_id}/video.mp4").status_code == 404
    assert store.client.get(f"/{job_id}/thumbnail.jpg").status_code == 404
    into = store.files.scratch(new_job_id())
    assert asyncio.run(store.files.local_result(job_id, VIDEO, into)) is None


def test_a_missing_result_is_not_found(store: Store) -> None:
    job_id = new_job_id()
    assert store.client.get(f"/{job_id}/video.mp4").status_code == 404
    assert store.client.get(f"/{job_id}/thumbnail.jpg").status_code == 404
    into = store.files.scratch(new_job_id())
    assert asyncio.run(store.files.local_result(job_id, VIDEO, into)) is None
    assert asyncio.run(store.files.local_result(job_id, THUMBNAIL, into)) is None


def test_a_result_is_had_as_a_local_file_for_composing(store: Store) -> None:
    job_id, compose_id = new_job_id(), new_job_id()
    publish(store.files, job_id)
    into = store.files.scratch(compose_id)
    path = asyncio.run(store.files.local_result(job_id, VIDEO, into))
    assert path is not None and path.read_bytes() == VIDEO_BYTES
    # Whatever had to be fetched is in the composing job's scratch, which goes with it.
    store.files.remove_scratch(compose_id)
    assert store.client.get(f"/{job_id}/video.mp4").content == VIDEO_BYTES


def test_remove_all_removes_every_durable_file_of_the_job_only(store: Store) -> None:
    job_id, other_id = new_job_id(), new_job_id()
    publish(store.files, job_id)
    publish(store.files, other_id)
    store.add_durable(job_id, "extra.bin", b"more")
    store.files.scratch(job_id).mkdir(parents=True, exist_ok=True)
    assert store.durable(job_id) == ["extra.bin", "thumbnail.jpg", "video.mp4"]
    store.files.remove_all(job_id)
    assert store.durable(job_id) == []
    assert not store.files.scratch(job_id).exists()
    assert store.client.get(f"/{job_id}/video.mp4").status_code == 404
    assert store.client.get(f"/{other_id}/video.mp4").content == VIDEO_BYTES
    store.files.remove_all(job_id)  # again: nothing left, nothing raised


def test_scratch_goes_and_results_stay(store: Store) -> None:
    job_id, stale_id = new_job_id(), new_job_id()
    publish(store.files, job_id)
    store.files.remove_scratch(job_id)
    store.files.scratch(stale_id).mkdir(parents=True)
    store.files.sweep_stale_scratch()
    assert not store.files.scratch(job_id).exists()
    assert not store.files.scratch(stale_id).exists()
    assert store.durable(job_id) == ["thumbnail.jpg", "video.mp4"]
    assert store.client.get(f"/{job_id}/thumbnail.jpg").content == THUMBNAIL_BYTES


def test_an_accepted_upload_becomes_the_jobs_source(store: Store, tmp_path: Path) -> None:
    job_id = new_job_id()
    incoming = tmp_path / "temp" / "incoming-x.part"
    incoming.parent.mkdir(parents=True, exist_ok=True)
    incoming.write_bytes(VIDEO_BYTES)
    asyncio.run(store.files.keep_upload(job_id, incoming))
    assert not incoming.exists()
    source = asyncio.run(store.files.local_source(job_id))
    assert source.read_bytes() == VIDEO_BYTES
    store.files.remove_all(job_id)
    assert not asyncio.run(store.files.local_source(job_id)).exists()


# --- what only S3 has -----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [PREFIX, ""])
def test_s3_objects_are_under_the_prefix(
    moto_s3: MotoS3, make_settings: Callable[..., Settings], prefix: str
) -> None:
    settings = make_settings(s3_bucket=moto_s3.bucket, s3_prefix=prefix)
    files = S3JobFiles.from_settings(settings)
    job_id = new_job_id()
    publish(files, job_id)
    assert moto_s3.keys() == [f"{prefix}{job_id}/thumbnail.jpg", f"{prefix}{job_id}/video.mp4"]
    assert moto_s3.object(f"{prefix}{job_id}/video.mp4")["ContentType"] == "video/mp4"
    assert moto_s3.object(f"{prefix}{job_id}/thumbnail.jpg")["ContentType"] == "image/jpeg"
    # Nothing of the job on local disk: no results folder, and its scratch is local only.
    assert not settings.upload_dir.exists()
    files.remove_scratch(job_id)
    assert moto_s3.keys() != []


def test_s3_keeps_an_upload_for_a_worker_container(
    moto_s3: MotoS3, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # With REDIS_URL another container runs the job: the upload is in S3 until published.
    settings = make_settings(
        s3_bucket=moto_s3.bucket, s3_prefix=PREFIX, redis_url="redis://127.0.0.1:1/0"
    )
    api_side, worker_side = (S3JobFiles.from_settings(settings) for _ in range(2))
    assert api_side.share_sources
    job_id = new_job_id()
    incoming = settings.temp_dir / "incoming-y.part"
    incoming.parent.mkdir(parents=True)
    incoming.write_bytes(VIDEO_BYTES)
    asyncio.run(api_side.keep_upload(job_id, incoming))
    assert not incoming.exists() and not api_side.scratch(job_id).exists()
    assert moto_s3.keys() == [f"{PREFIX}{job_id}/source"]
    source = asyncio.run(worker_side.local_source(job_id))
    assert source.read_bytes() == VIDEO_BYTES
    publish(worker_side, job_id)
    assert moto_s3.keys() == [f"{PREFIX}{job_id}/thumbnail.jpg", f"{PREFIX}{job_id}/video.mp4"]


REFUSED = "S3 refused access (check the credentials and the bucket's permissions)"


def _assert_no_credentials(*texts: str) -> None:
    for text in texts:
        for secret in CREDENTIALS:
            assert secret not in text


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": list(headers)})


def each_failure(settings: Settings, job_id: str) -> list[StorageUnavailable]:
    """Every use of the store that has to reach it, each of which must fail."""
    files = S3JobFiles.from_settings(settings)
    # With a queue server the upload goes to S3 too.
    sharing = S3JobFiles.from_settings(settings.model_copy(update={"redis_url": "redis://x"}))
    other = new_job_id()
    partial = files.partial_outputs(other)
    partial.video.write_bytes(VIDEO_BYTES)
    partial.thumbnail.write_bytes(THUMBNAIL_BYTES)
    incoming = settings.temp_dir / "incoming-z.part"
    incoming.write_bytes(VIDEO_BYTES)
    calls: list[Callable[[], object]] = [
        lambda: files.publish(other, partial),
        lambda: asyncio.run(files.serve(job_id, VIDEO, _request())),
        lambda: asyncio.run(files.serve(job_id, VIDEO, _request((b"range", b"bytes=0-9")))),
        lambda: asyncio.run(files.local_result(job_id, VIDEO, files.scratch(other))),
        lambda: asyncio.run(sharing.keep_upload(other, incoming)),
        lambda: asyncio.run(sharing.local_source(job_id)),
    ]
    errors = []
    for call in calls:
        with pytest.raises(StorageUnavailable) as caught:
            call()
        errors.append(caught.value)
    assert not incoming.exists()  # an upload not stored is not left behind
    files.remove_all(job_id)  # logged, never raised
    return errors


def _messages(errors: list[StorageUnavailable]) -> list[str]:
    return [f"{error} {error.reason} {error.diagnostic}" for error in errors]


def test_s3_refusing_access_fails_plainly(
    moto_s3: MotoS3, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's DEBUG lines would carry the access key id
    settings = make_settings(s3_bucket=moto_s3.bucket, s3_prefix=PREFIX)
    job_id = new_job_id()
    publish(S3JobFiles.from_settings(settings), job_id)
    moto_s3.deny_access()
    errors = each_failure(settings, job_id)
    assert {error.reason for error in errors} == {REFUSED}
    assert all("InvalidAccessKeyId" in error.diagnostic for error in errors)
    assert f"job {job_id}: its files in S3 could not be" in caplog.text
    _assert_no_credentials(caplog.text, *_messages(errors))
    moto_s3.allow_access()
    assert moto_s3.keys(f"{PREFIX}{job_id}/") != []  # refused: nothing was removed


def test_s3_out_of_reach_fails_plainly(
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    use_endpoint(monkeypatch, f"http://127.0.0.1:{free_port()}", tmp_path)  # nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the standard chain's retry setting
    settings = make_settings(s3_bucket="results-bucket", s3_prefix=PREFIX)
    settings.temp_dir.mkdir(parents=True)
    errors = each_failure(settings, new_job_id())
    assert {error.reason for error in errors} == {"S3 could not be reached"}
    assert all("EndpointConnectionError" in error.diagnostic for error in errors)
    _assert_no_credentials(caplog.text, *_messages(errors))


def test_s3_without_its_bucket_fails_plainly(
    moto_s3: MotoS3, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(s3_bucket=f"{moto_s3.bucket}-gone", s3_prefix=PREFIX)
    settings.temp_dir.mkdir(parents=True)
    errors = each_failure(settings, new_job_id())
    assert {error.reason for error in errors} == {"the S3 bucket does not exist"}


# --- the API with S3_BUCKET set ------------------------------------------------------------


@pytest.fixture
def s3_api(make_api: Callable[..., Api], moto_s3: MotoS3) -> Api:
    api = make_api(s3_bucket=moto_s3.bucket, s3_prefix="e2e/")
    # Picked by app.backends from S3_BUCKET alone.
    assert isinstance(api.client.app.state.files, S3JobFiles)  # type: ignore[attr-defined]
    return api


def test_api_keeps_results_in_s3_and_streams_them(
    s3_api: Api, moto_s3: MotoS3, clips: dict[str, Path], tmp_path: Path
) -> None:
    api = s3_api
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    assert job["status"] == "succeeded", job["error"]
    job_id, result = job["id"], job["result"]
    assert moto_s3.keys() == [f"e2e/{job_id}/thumbnail.jpg", f"e2e/{job_id}/video.mp4"]
    assert not (api.settings.upload_dir / "jobs").exists()

    video = api.client.get(result["file_url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["content-length"] == str(result["size_bytes"]) == str(len(video.content))
    assert video.headers["content-disposition"] == f'inline; filename="{job_id}.mp4"'
    assert video.content == moto_s3.object(f"e2e/{job_id}/video.mp4")["Body"]
    target = tmp_path / "download.mp4"
    target.write_bytes(video.content)
    fields = probe(target)
    assert fields["streams.stream.0.codec_name"] == "h264"
    assert fields["streams.stream.1.codec_name"] == "aac"
    assert "mp4" in fields["format.format_name"]

    part = api.client.get(result["file_url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == video.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(video.content)}"
    beyond = api.client.get(result["file_url"], headers={"Range": f"bytes={10**9}-"})
    assert beyond.status_code == 416 and beyond.json()["code"] == "range_not_satisfiable"

    thumbnail = api.client.get(result["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:2] == b"\xff\xd8"

    second = api.wait(api.upload(clips["silent_odd"]).json()["id"])
    created = api.client.post("/api/v1/videos/compose", json={"video_ids": [job_id, second["id"]]})
    composed = api.wait(created.json()["id"])
    assert composed["status"] == "succeeded", composed["error"]
    assert 2.9 < composed["result"]["duration"] < 3.3
    assert f"e2e/{composed['id']}/video.mp4" in moto_s3.keys(f"e2e/{composed['id']}/")
    assert api.leftovers() == []

    assert api.client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert moto_s3.keys(f"e2e/{job_id}/") == []
    assert moto_s3.keys(f"e2e/{composed['id']}/") != []


def test_api_answers_plainly_when_s3_refuses_access(
    s3_api: Api, moto_s3: MotoS3, clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = s3_api
    done = api.wait(api.upload(clips["mp4"]).json()["id"])
    assert done["status"] == "succeeded", done["error"]
    moto_s3.deny_access()
    answers = []
    for what, url in (("video", "file_url"), ("thumbnail", "thumbnail_url")):
        response = api.client.get(done["result"][url])
        answers.append(response.text)
        assert response.status_code == 503
        assert response.json() == {
            "detail": f"the {what} could not be read from storage: {REFUSED}; try again later",
            "code": "storage_unavailable",
        }
    upload = api.wait(api.upload(clips["silent_odd"]).json()["id"])
    assert upload["status"] == "failed"
    assert upload["error"] == f"the result could not be stored: {REFUSED}"
    created = api.client.post("/api/v1/videos/compose", json={"video_ids": [done["id"]] * 2})
    compose = api.wait(created.json()["id"])
    assert compose["status"] == "failed"
    assert compose["error"] == f"video {done['id']} could not be read from storage: {REFUSED}"
    assert api.leftovers() == []
    for text in (*answers, str(upload), str(compose)):
        assert moto_s3.bucket not in text and moto_s3.endpoint not in text
    _assert_no_credentials(caplog.text, *answers, str(upload), str(compose))
