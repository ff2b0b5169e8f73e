"""Fetch a model's output file to disk, streamed, with a size cap."""

from __future__ import annotations

from pathlib import Path

import httpx

CHUNK_BYTES = 256 * 1024


class DownloadError(Exception):
    """The message is for clients; `diagnostic` (URL, exception text) only for the log."""

    def __init__(self, reason: str, diagnostic: str | None = None) -> None:
        super().__init__(reason)
        self.diagnostic = diagnostic


async def download(url: str, destination: Path, max_bytes: int, timeout: float) -> int:
    if not url.startswith(("http://", "https://")):
        raise DownloadError("the model's output is not an http(s) URL", diagnostic=url[:200])
    written = 0
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise DownloadError(f"output URL answered HTTP {response.status_code}")
            with destination.open("wb") as handle:
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    written += len(chunk)
                    if written > max_bytes:
                        raise DownloadError(f"output is larger than {max_bytes} bytes")
                    handle.write(chunk)
    except httpx.TimeoutException:
        raise DownloadError(f"output URL timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DownloadError(
            "the generated video could not be downloaded (connection failed)",
            diagnostic=f"{type(exc).__name__}: {exc}",
        ) from None
    return written
