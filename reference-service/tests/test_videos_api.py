"""Uploads through the real pipeline (real FFmpeg), results, downloads, composition."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Api
from tests.media import probe


def test_upload_is_normalised_to_faststart_h264_aac(api: Api, clips: dict[str, Path]) -> None:
    response = api.upload(clips["mp4"])
    assert response.status_code == 202
    created = response.json()
    assert created["kind"] == "upload" and created["status"] == "queued"
    assert created["input"] == {
        "filename": "clip.mp4",
        "prompt": None,
        "model": None,
        "video_ids": None,
    }

    job = api.wait(created["id"])
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["video_codec"] == "h264" and result["audio_codec"] == "aac"
    assert (result["width"], result["height"]) == (320, 240)
    assert 1.9 < result["duration"] < 2.2
    assert result["file_url"] == f"/api/v1/videos/{job['id']}/file"

    video = api.client.get(result["file_url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert len(video.content) == result["size_bytes"]
    # faststart: the moov box precedes mdat, so playback can start before the download ends.
    assert video.content.find(b"moov") < video.content.find(b"mdat")

    thumbnail = api.client.get(result["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:2] == b"\xff\xd8"
    assert api.leftovers() == []


def test_downloaded_file_verifies_with_ffprobe(
    api: Api, clips: dict[str, Path], tmp_path: Path
) -> None:
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    target = tmp_path / "result.mp4"
    target.write_bytes(api.client.get(job["result"]["file_url"]).content)
    fields = probe(target)
    assert fields["streams.stream.0.codec_name"] == "h264"
    assert fields["streams.stream.1.codec_name"] == "aac"
    assert "mp4" in fields["format.format_name"]


def test_file_supports_range_requests(api: Api, clips: dict[str, Path]) -> None:
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    url = job["result"]["file_url"]
    whole = api.client.get(url).content
    part = api.client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    beyond = api.client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


def test_odd_sized_silent_clip_is_accepted(api: Api, clips: dict[str, Path]) -> None:
    job = api.wait(api.upload(clips["silent_odd"]).json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert (job["result"]["width"], job["result"]["height"]) == (160, 120)
    assert job["result"]["audio_codec"] is None


def test_compose_concatenates_with_filters(api: Api, clips: dict[str, Path]) -> None:
    first = api.wait(api.upload(clips["mp4"]).json()["id"])
    second = api.wait(api.upload(clips["silent_odd"]).json()["id"])
    response = api.client.post(
        "/api/v1/videos/compose", json={"video_ids": [first["id"], second["id"]]}
    )
    assert response.status_code == 202
    assert response.json()["kind"] == "compose"
    job = api.wait(response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert (result["width"], result["height"]) == (320, 240)
    assert result["audio_codec"] == "aac"
    assert 2.9 < result["duration"] < 3.3
    assert job["input"]["video_ids"] == [first["id"], second["id"]]
    assert api.leftovers() == []


def test_compose_takes_the_same_video_more_than_once(api: Api, clips: dict[str, Path]) -> None:
    clip = api.wait(api.upload(clips["mp4"]).json()["id"])
    response = api.client.post("/api/v1/videos/compose", json={"video_ids": [clip["id"]] * 3})
    job = api.wait(response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert 5.8 < job["result"]["duration"] < 6.4


def test_compose_rejects_unknown_or_unfinished_videos(api: Api, clips: dict[str, Path]) -> None:
    done = api.wait(api.upload(clips["mp4"]).json()["id"])
    missing = api.client.post("/api/v1/videos/compose", json={"video_ids": [done["id"], "f" * 32]})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    too_few = api.client.post("/api/v1/videos/compose", json={"video_ids": [done["id"]]})
    assert too_few.status_code == 422 and too_few.json()["code"] == "invalid_request"


def test_jobs_are_paged_newest_first(api: Api, clips: dict[str, Path]) -> None:
    ids = [api.upload(clips["silent_odd"]).json()["id"] for _ in range(3)]
    page = api.client.get("/api/v1/jobs", params={"limit": 2, "offset": 0}).json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 0
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    rest = api.client.get("/api/v1/jobs", params={"limit": 2, "offset": 2}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]
    assert api.client.get("/api/v1/jobs", params={"limit": 0}).status_code == 422
    for job_id in ids:
        api.wait(job_id)


def test_unknown_job_is_404(api: Api) -> None:
    for path in ("/api/v1/videos/" + "0" * 32, "/api/v1/videos/../../etc", "/api/v1/jobs/x"):
        response = api.client.get(path)
        assert response.status_code in (404, 405)
    response = api.client.get("/api/v1/videos/" + "0" * 32 + "/file")
    assert response.json() == {"detail": f"no such job: {'0' * 32}", "code": "not_found"}


def test_job_route_answers_every_kind(api: Api, clips: dict[str, Path]) -> None:
    upload = api.wait(api.upload(clips["mp4"]).json()["id"])
    second = api.wait(api.upload(clips["silent_odd"]).json()["id"])
    compose = api.client.post(
        "/api/v1/videos/compose", json={"video_ids": [upload["id"], second["id"]]}
    ).json()
    for job in (upload, compose):
        response = api.client.get(f"/api/v1/jobs/{job['id']}")
        assert response.status_code == 200
        assert response.json()["id"] == job["id"] and response.json()["kind"] == job["kind"]
    assert api.client.get(f"/api/v1/jobs/{upload['id']}").json() == upload
    api.wait(compose["id"])


def test_job_route_404s_unknown_ids(api: Api) -> None:
    for job_id in ("0" * 32, "not-an-id", "%2e%2e%2fetc", "x" * 500):
        response = api.client.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 404, job_id
        body = response.json()
        assert set(body) == {"detail", "code"} and body["code"] == "not_found"


def test_delete_finished_job_removes_it_and_its_files(api: Api, clips: dict[str, Path]) -> None:
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    assert api.client.delete(f"/api/v1/jobs/{job['id']}").status_code == 204
    assert api.client.get(f"/api/v1/videos/{job['id']}").status_code == 404
    assert not (api.settings.upload_dir / "jobs" / job["id"]).exists()
    assert api.client.delete(f"/api/v1/jobs/{job['id']}").status_code == 404


def test_openapi_documents_the_api(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/videos",
        "/api/v1/videos/{job_id}",
        "/api/v1/videos/{job_id}/file",
        "/api/v1/videos/{job_id}/thumbnail",
        "/api/v1/videos/compose",
        "/api/v1/generations",
        "/api/v1/generations/{job_id}",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
    ):
        assert path in paths, path
    one_job = paths["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert one_job["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobOut"
    }
    assert one_job["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    upload = paths["/api/v1/videos"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
