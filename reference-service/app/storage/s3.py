"""A job's results as objects in S3 (S3_BUCKET); its scratch files stay on local disk.

- scratch: `<TEMP_DIR>/<job id>/` as with local storage, partial outputs included.
- durable files: `<S3_PREFIX><job id>/video.mp4` and `thumbnail.jpg` (each PUT is atomic:
  a half-uploaded object is never served), and, while the job waits for a worker
  container (REDIS_URL), its upload as `<S3_PREFIX><job id>/source`.

Credentials, region and endpoint come from boto3's own chain only (AWS_ACCESS_KEY_ID...,
AWS_ENDPOINT_URL(_S3), a profile, a task role): nothing of them is in Settings or the log.
boto3 is imported only here, and this module only when S3_BUCKET is set.
Required permissions on the prefix: s3:PutObject, s3:GetObject, s3:DeleteObject and
s3:ListBucket (without it S3 answers a missing key with 403, not 404).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import Response

from app.core.config import Settings
from app.services.pipeline import Outputs
from app.storage.base import THUMBNAIL, VIDEO, Result, StorageUnavailable
from app.storage.s3_errors import S3_ERRORS, error_code, is_missing, plain_reason, redact
from app.storage.s3_response import if_range_holds, object_response, single_range, unsatisfiable
from app.storage.scratch import ScratchFiles

logger = logging.getLogger(__name__)

# botocore's DEBUG lines carry the signed request headers (the access key id): they never
# reach the service's log, whatever LOG_LEVEL says.
for _name in ("botocore", "boto3", "s3transfer"):
    if logging.getLogger(_name).level < logging.INFO:
        logging.getLogger(_name).setLevel(logging.INFO)

SOURCE_NAME = "source"
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
# An S3 that does not answer fails a request in seconds, not botocore's default minute
# (remove_all runs on the event loop). Retries: AWS_MAX_ATTEMPTS / AWS_RETRY_MODE.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30)


class _RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class S3JobFiles(ScratchFiles):
    bucket: str
    prefix: str
    client: Any = field(repr=False, compare=False)
    # With REDIS_URL another container runs the job: the upload goes to S3 for it.
    share_sources: bool = False
    session: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3JobFiles:
        if not settings.s3_bucket:
            raise ValueError("S3_BUCKET is not set")
        session = boto3.session.Session()
        return cls(
            temp_root=settings.temp_dir,
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            client=session.client("s3", config=CLIENT_CONFIG),
            share_sources=settings.jobs_run_elsewhere,
            session=session,
        )

    def key(self, job_id: str, name: str = "") -> str:
        return f"{self.prefix}{job_id}/{name}"

    # --- errors -----------------------------------------------------------------------

    def _secrets(self) -> list[str | None]:
        try:
            credentials = (self.session or boto3.session.Session()).get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials else None
        except Exception:
            return []
        if frozen is None:
            return []
        return [frozen.access_key, frozen.secret_key, frozen.token]

    def _diagnostic(self, action: str, key: str, exc: BaseException) -> str:
        text = f"S3 {action} s3://{self.bucket}/{key}: {type(exc).__name__}: {exc}"
        return redact(text, self._secrets())

    def _unavailable(self, action: str, key: str, exc: BaseException) -> StorageUnavailable:
        return StorageUnavailable(plain_reason(exc), self._diagnostic(action, key, exc))

    # --- blocking calls: each runs in a thread when the caller is on the event loop -----

    def _put_file(self, path: Path, key: str, media_type: str | None) -> None:
        extra = {"ContentType": media_type} if media_type else None
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        except S3_ERRORS as exc:
            raise self._unavailable("upload to", key, exc) from None

    def _download(self, key: str, target: Path) -> bool:
        """False when the object is not there."""
        partial = target.with_name(target.name + ".part")
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            with answer["Body"] as body, partial.open("wb") as handle:
                shutil.copyfileobj(body, handle, DOWNLOAD_CHUNK_BYTES)
        except S3_ERRORS as exc:
            partial.unlink(missing_ok=True)
            if is_missing(exc):
                return False
            raise self._unavailable("download of", key, exc) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        return True

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            for error in answer.get("Errors", []):
                logger.warning(
                    "S3 kept s3://%s/%s: %s", self.bucket, error.get("Key"), error.get("Code")
                )

    def _get(self, key: str, byte_range: str | None) -> dict[str, Any] | None:
        """GetObject's answer (its body still to read); None when the object is not there."""
        try:
            if byte_range is None:
                return dict(self.client.get_object(Bucket=self.bucket, Key=key))
            return dict(self.client.get_object(Bucket=self.bucket, Key=key, Range=byte_range))
        except ClientError as exc:
            if is_missing(exc):
                return None
            if error_code(exc) == "InvalidRange":
                raise _RangeNotSatisfiable(self._size(key, exc)) from None
            raise self._unavailable("read of", key, exc) from None
        except S3_ERRORS as exc:
            raise self._unavailable("read of", key, exc) from None

    def _size(self, key: str, invalid_range: ClientError) -> int:
        size = invalid_range.response.get("Error", {}).get("ActualObjectSize")
        if size is not None:
            return int(size)
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except S3_ERRORS as exc:
            raise self._unavailable("size of", key, exc) from None

    # --- JobFiles ----------------------------------------------------------------------

    def partial_outputs(self, job_id: str) -> Outputs:
        # In scratch: removed with it however the job ends.
        folder = self.scratch(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        return Outputs(folder / "video.part.mp4", folder / "thumbnail.part.jpg")

    def publish(self, job_id: str, partial: Outputs) -> None:
        self._put_file(partial.video, self.key(job_id, VIDEO.name), VIDEO.media_type)
        self._put_file(partial.thumbnail, self.key(job_id, THUMBNAIL.name), THUMBNAIL.media_type)
        if self.share_sources:
            # Done with: a job is not run again once it has results.
            self._remove_objects(job_id, [self.key(job_id, SOURCE_NAME)])

    def remove_all(self, job_id: str) -> None:
        self.remove_scratch(job_id)
        prefix = self.key(job_id)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        except S3_ERRORS as exc:
            logger.warning(
                "job %s: its files in S3 could not be listed for removal (%s)",
                job_id,
                self._diagnostic("listing of", prefix, exc),
            )
            return
        self._remove_objects(job_id, keys)

    def _remove_objects(self, job_id: str, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._delete(keys)
        except S3_ERRORS as exc:
            logger.warning(
                "job %s: its files in S3 could not be removed (%s)",
                job_id,
                self._diagnostic("removal of", self.key(job_id), exc),
            )

    async def keep_upload(self, job_id: str, incoming: Path) -> None:
        if not self.share_sources:
            self._keep_upload_here(job_id, incoming)
            return
        try:
            await asyncio.to_thread(self._put_file, incoming, self.key(job_id, SOURCE_NAME), None)
        finally:
            incoming.unlink(missing_ok=True)

    async def local_source(self, job_id: str) -> Path:
        path = self.source(job_id)
        if self.share_sources and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(self._download, self.key(job_id, SOURCE_NAME), path)
        return path

    async def local_result(self, job_id: str, result: Result, into: Path) -> Path | None:
        into.mkdir(parents=True, exist_ok=True)
        target = into / f"{job_id}-{result.name}"
        found = await asyncio.to_thread(self._download, self.key(job_id, result.name), target)
        return target if found else None

    async def serve(
        self, job_id: str, result: Result, request: Request, *, filename: str | None = None
    ) -> Response | None:
        key = self.key(job_id, result.name)
        wanted = single_range(request.headers.get("range"))
        try:
            obj = await asyncio.to_thread(self._get, key, wanted)
            if (
                obj is not None
                and wanted
                and not if_range_holds(request.headers.get("if-range"), obj)
            ):
                # Changed since the client's copy: the whole object, as for no range.
                obj["Body"].close()
                obj = await asyncio.to_thread(self._get, key, None)
        except _RangeNotSatisfiable as exc:
            return unsatisfiable(exc.size)
        if obj is None:
            return None

        def describe(exc: BaseException) -> str:
            return self._diagnostic("read of", key, exc)

        return object_response(obj, result, filename, describe)
