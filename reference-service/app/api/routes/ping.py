from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["meta"])


@router.get("/ping")
async def ping() -> dict[str, str]:
    return {"ping": "pong"}
