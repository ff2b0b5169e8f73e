"""Liveness (/health, cheap and constant) and diagnostics (/health/detailed)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from app.core.config import Settings
from app.services.system_checks import directory_writable, disk_space, tool_version

SERVICE_NAME = "ai-video-generation-pipeline"

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy", "service": SERVICE_NAME}


def _integrations(settings: Settings) -> dict[str, bool]:
    # Booleans only: a value, even masked, never leaves the process.
    return {
        "replicate": settings.replicate_configured,
        "database": settings.database_url is not None,
        "redis": settings.redis_url is not None,
        "s3": settings.s3_configured,
    }


@router.get("/health/detailed")
async def health_detailed(request: Request) -> dict[str, Any]:
    """Always HTTP 200; `status` is "degraded" when any component is not ok."""
    settings: Settings = request.app.state.settings
    ffmpeg, ffprobe = await asyncio.gather(tool_version("ffmpeg"), tool_version("ffprobe"))
    temp_dir, upload_dir = await asyncio.gather(
        asyncio.to_thread(directory_writable, settings.temp_dir),
        asyncio.to_thread(directory_writable, settings.upload_dir),
    )
    components: dict[str, dict[str, Any]] = {
        "ffmpeg": ffmpeg,
        "ffprobe": ffprobe,
        "temp_dir": temp_dir,
        "upload_dir": upload_dir,
        "disk_space": disk_space(settings.temp_dir, settings.disk_free_min_bytes),
    }
    worker = getattr(request.app.state, "worker", None)
    components["worker"] = (
        await worker.health()
        if worker is not None
        else {"ok": False, "error": "job store unavailable"}
    )
    degraded = sorted(name for name, component in components.items() if not component["ok"])
    return {
        "status": "degraded" if degraded else "healthy",
        "service": SERVICE_NAME,
        "version": settings.api_version,
        "environment": settings.app_env,
        "degraded_components": degraded,
        "components": components,
        "integrations": _integrations(settings),
    }
