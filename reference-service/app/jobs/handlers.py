"""What each kind of job does: probe, run the pipeline, describe the result."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.config import Settings
from app.jobs.models import Job, JobKind
from app.jobs.worker import DISK_FULL, Handler, JobFailed
from app.services.ffmpeg_runner import MediaToolError, MediaToolTimeout
from app.services.generation_error import GenerationError
from app.services.pipeline import Outputs, compose, cut_short, normalize, thumbnail
from app.services.probe import MediaInfo, MediaRejected, inspect_video
from app.storage import VIDEO, JobFiles, StorageUnavailable

if TYPE_CHECKING:
    from app.services.generation import ReplicateGenerator


def describe(info: MediaInfo) -> dict[str, Any]:
    return {
        "duration": round(info.duration, 3),
        "width": info.width,
        "height": info.height,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "size_bytes": info.size_bytes,
    }


@dataclass
class JobHandlers:
    settings: Settings
    files: JobFiles
    generator: ReplicateGenerator | None

    def table(self) -> dict[JobKind, Handler]:
        return {
            JobKind.UPLOAD: self.upload,
            JobKind.GENERATION: self.generation,
            JobKind.COMPOSE: self.compose,
        }

    async def _inspect(self, path: Any) -> MediaInfo:
        try:
            return await inspect_video(path)
        except MediaRejected as exc:
            raise JobFailed(exc.detail, client_fault=True, diagnostic=exc.diagnostic) from None
        except FileNotFoundError:
            raise JobFailed("input file is gone") from None

    async def _finish(
        self, job: Job, partial: Outputs, encoded: float, expected: float
    ) -> dict[str, Any]:
        """Check the encode of an `encoded`-second input, add the thumbnail, publish.

        `expected` is how long the result must be: the input's streams, as declared.
        """
        try:
            result = await inspect_video(partial.video)
        except MediaRejected as exc:
            raise JobFailed(
                "no video could be decoded from the input: it is damaged or uses a feature "
                "this server cannot read",
                client_fault=job.kind is JobKind.UPLOAD,
                diagnostic=exc.diagnostic or exc.detail,
            ) from None
        # FFmpeg reads a damaged or cut-off file as far as it can and still exits 0:
        # a result much shorter than the input declares is a failure, not a success.
        if cut_short(expected, result.duration):
            raise JobFailed(
                f"the video is damaged or cut short: only {result.duration:.1f} s of its "
                f"{expected:.1f} s could be decoded",
                client_fault=job.kind is JobKind.UPLOAD,
            )
        try:
            await thumbnail(partial, encoded, self.settings.ffmpeg_timeout_seconds)
        except MediaToolError as exc:
            raise self._ffmpeg_failed(exc) from None
        await self._publish(job, partial)
        return describe(result)

    async def _publish(self, job: Job, partial: Outputs) -> None:
        # In a thread: publishing may upload to S3. A cancelled job waits for the upload
        # to end, so removing the job's files afterwards finds everything it stored.
        upload = asyncio.ensure_future(asyncio.to_thread(self.files.publish, job.id, partial))
        try:
            await asyncio.shield(upload)
        except asyncio.CancelledError:
            await asyncio.wait({upload})
            raise
        except StorageUnavailable as exc:
            raise JobFailed(
                f"the result could not be stored: {exc.reason}", diagnostic=exc.diagnostic
            ) from None

    async def _normalize(
        self, job: Job, source: Any, info: MediaInfo | None = None
    ) -> dict[str, Any]:
        info = info or await self._inspect(source)
        partial = self.files.partial_outputs(job.id)
        try:
            await normalize(source, info, partial, self.settings.ffmpeg_timeout_seconds)
        except MediaToolError as exc:
            raise self._ffmpeg_failed(exc) from None
        return await self._finish(job, partial, info.duration, info.media_duration or info.duration)

    def _ffmpeg_failed(self, exc: MediaToolError) -> JobFailed:
        # FFmpeg's stderr names files on this server: it goes to the log, not the job.
        if isinstance(exc, MediaToolTimeout):
            limit = self.settings.ffmpeg_timeout_seconds
            reason = f"processing took longer than the {limit:g} s limit"
        elif "No space left on device" in str(exc):
            reason = DISK_FULL
        elif exc.returncode is not None and exc.returncode < 0:
            reason = "FFmpeg was stopped by a signal (out of memory?) before it finished"
        else:
            reason = "FFmpeg could not process the video (damaged or unsupported data in it?)"
        return JobFailed(reason, diagnostic=str(exc))

    async def upload(self, job: Job) -> dict[str, Any]:
        try:
            source = await self.files.local_source(job.id)
        except StorageUnavailable as exc:
            raise JobFailed(
                f"the uploaded file could not be read from storage: {exc.reason}",
                diagnostic=exc.diagnostic,
            ) from None
        return await self._normalize(job, source)

    async def generation(self, job: Job) -> dict[str, Any]:
        if self.generator is None:
            raise JobFailed("Replicate is not configured (REPLICATE_API_TOKEN)")
        scratch = self.files.scratch(job.id)
        scratch.mkdir(parents=True, exist_ok=True)
        download = scratch / "download"
        try:
            await self.generator.generate(job.input["prompt"], job.input["model"], download)
        except GenerationError as exc:
            raise JobFailed(str(exc), diagnostic=exc.diagnostic) from None
        try:
            info = await inspect_video(download)
        except MediaRejected as exc:
            # Not the client's input: the model (or its file host) sent something broken.
            raise JobFailed(
                f"the model's output is not a usable video: {exc.detail}",
                diagnostic=exc.diagnostic,
            ) from None
        return await self._normalize(job, download, info)

    async def _compose_source(self, job: Job, video_id: str) -> Path:
        """A finished video as a local file: S3's is downloaded to the job's scratch."""
        try:
            path = await self.files.local_result(video_id, VIDEO, self.files.scratch(job.id))
        except StorageUnavailable as exc:
            raise JobFailed(
                f"video {video_id} could not be read from storage: {exc.reason}",
                diagnostic=exc.diagnostic,
            ) from None
        if path is None:
            raise JobFailed(f"video {video_id} is no longer available")
        return path

    async def compose(self, job: Job) -> dict[str, Any]:
        sources = []
        fetched: dict[str, Path] = {}  # a video may be composed more than once
        for video_id in job.input["video_ids"]:
            if video_id not in fetched:
                fetched[video_id] = await self._compose_source(job, video_id)
            path = fetched[video_id]
            sources.append((path, await self._inspect(path)))
        partial = self.files.partial_outputs(job.id)
        try:
            await compose(sources, partial, self.settings.ffmpeg_timeout_seconds)
        except MediaToolError as exc:
            raise self._ffmpeg_failed(exc) from None
        total = sum(info.duration for _, info in sources)
        return await self._finish(job, partial, total, total)
