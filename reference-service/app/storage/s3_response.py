"""An S3 object streamed through the API: the headers a FileResponse would send, and one
byte range passed on to GetObject.

Downloads go through the API rather than to a presigned S3 URL: they work through the
service's one published port and stay behind its authentication.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from app.core.errors import error_response
from app.storage.base import Result

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
_RANGE_RE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)", re.IGNORECASE)


def single_range(header: str | None) -> str | None:
    """The one byte range asked for, as GetObject takes it.

    None for no range, several ranges or a malformed one: the whole object is then sent
    (RFC 9110 lets a server ignore Range). Past the end is for S3 to say (416).
    """
    match = _RANGE_RE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    start, end = match.groups()
    if not start and not end:
        return None
    if start and end and int(start) > int(end):
        return None
    if not start and int(end) == 0:
        return None
    return f"bytes={start}-{end}"


def _http_date(moment: datetime | None) -> str | None:
    return formatdate(moment.timestamp(), usegmt=True) if moment is not None else None


def if_range_holds(if_range: str | None, obj: Mapping[str, Any]) -> bool:
    """A conditional range (If-Range) is sent only while the object is the one named."""
    if if_range is None:
        return True
    if if_range.startswith("W/"):
        return False
    return if_range in (obj.get("ETag"), _http_date(obj.get("LastModified")))


def content_disposition(filename: str) -> str:
    quoted = quote(filename)
    if quoted != filename:
        return f"inline; filename*=utf-8''{quoted}"
    return f'inline; filename="{filename}"'


async def _chunks(body: Any, describe: Callable[[BaseException], str]) -> AsyncIterator[bytes]:
    # botocore's body is a blocking stream: each read waits in a thread, off the loop.
    try:
        while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
            yield chunk
    except Exception as exc:
        # Headers are sent: the client sees a cut-off transfer; the log says why.
        logger.warning("download cut off: %s", describe(exc))
        raise
    finally:
        body.close()


def object_response(
    obj: Mapping[str, Any],
    result: Result,
    filename: str | None,
    describe: Callable[[BaseException], str],
) -> Response:
    """`obj`: GetObject's answer. 206 when S3 sent a range of the object."""
    headers = {"content-length": str(obj["ContentLength"]), "accept-ranges": "bytes"}
    if obj.get("ContentRange"):
        headers["content-range"] = obj["ContentRange"]
    if obj.get("ETag"):
        headers["etag"] = obj["ETag"]
    last_modified = _http_date(obj.get("LastModified"))
    if last_modified:
        headers["last-modified"] = last_modified
    if filename is not None:
        headers["content-disposition"] = content_disposition(filename)
    return StreamingResponse(
        _chunks(obj["Body"], describe),
        status_code=206 if obj.get("ContentRange") else 200,
        media_type=result.media_type,
        headers=headers,
    )


def unsatisfiable(size: int) -> Response:
    return error_response(
        416,
        "range_not_satisfiable",
        f"the range starts past the end of the file ({size} bytes)",
        headers={"Content-Range": f"bytes */{size}"},
    )
