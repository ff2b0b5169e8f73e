"""Text-to-video on Replicate through the official client; the output is downloaded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import httpx
import replicate
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from app.core.config import Settings
from app.services.download import DownloadError, download
from app.services.generation_error import GenerationError

TERMINAL = ("succeeded", "failed", "canceled")


def first_url(output: Any) -> str | None:
    """Video models answer with a URL, or a list of them."""
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple):
        return next((item for item in output if isinstance(item, str)), None)
    if isinstance(output, dict):
        return first_url(output.get("video") or output.get("output"))
    return None


class ReplicateGenerator:
    def __init__(self, settings: Settings) -> None:
        if settings.replicate_api_token is None:
            raise ValueError("REPLICATE_API_TOKEN is not set")
        self.settings = settings
        self.http_timeout = settings.replicate_http_timeout_seconds
        self.client = replicate.Client(
            api_token=settings.replicate_api_token.get_secret_value(),
            base_url=settings.replicate_base_url,
            timeout=httpx.Timeout(self.http_timeout),
        )

    async def generate(self, prompt: str, model: str, destination: Path) -> None:
        try:
            # The client sends create requests with timeout=None (no limit at all),
            # so the deadline is enforced here.
            prediction = await asyncio.wait_for(
                self._create(model, {"prompt": prompt}), self.http_timeout
            )
            prediction = await self._wait(prediction)
        except ReplicateError as exc:
            detail = exc.detail or exc.title or "no detail"
            raise GenerationError(f"Replicate API error (HTTP {exc.status}): {detail}") from None
        except (httpx.TimeoutException, TimeoutError):
            raise GenerationError("Replicate API timed out") from None
        except httpx.HTTPError as exc:
            raise GenerationError(
                "Replicate API unreachable", diagnostic=f"{type(exc).__name__}: {exc}"
            ) from None
        if prediction.status != "succeeded":
            reason = prediction.error or "no reason given"
            raise GenerationError(f"prediction {prediction.id} {prediction.status}: {reason}")
        url = first_url(prediction.output)
        if url is None:
            raise GenerationError(f"prediction {prediction.id} returned no video URL")
        try:
            await download(
                url,
                destination,
                self.settings.download_max_bytes,
                timeout=self.http_timeout,
            )
        except DownloadError as exc:
            raise GenerationError(str(exc), diagnostic=exc.diagnostic) from None

    async def _create(self, model: str, model_input: dict[str, Any]) -> Prediction:
        if ":" in model:
            # owner/name:version pins an exact version.
            version = model.split(":", 1)[1]
            return await self.client.predictions.async_create(version=version, input=model_input)
        return await self.client.models.predictions.async_create(model=model, input=model_input)

    async def _wait(self, prediction: Prediction) -> Prediction:
        deadline = time.monotonic() + self.settings.replicate_timeout_seconds
        try:
            while prediction.status not in TERMINAL:
                if time.monotonic() >= deadline:
                    await self._cancel(prediction)
                    raise GenerationError(
                        f"prediction {prediction.id} timed out after "
                        f"{self.settings.replicate_timeout_seconds:g} s"
                    )
                await asyncio.sleep(self.settings.replicate_poll_seconds)
                await prediction.async_reload()
        except asyncio.CancelledError:
            # The job was cancelled: stop paying for the prediction too.
            await asyncio.shield(self._cancel(prediction))
            raise
        except (ReplicateError, httpx.HTTPError):
            # Polling failed (5xx, a hung answer): the prediction may still be running.
            await self._cancel(prediction)
            raise
        return prediction

    async def _cancel(self, prediction: Prediction) -> None:
        with contextlib.suppress(ReplicateError, httpx.HTTPError):
            await self.client.predictions.async_cancel(prediction.id)
