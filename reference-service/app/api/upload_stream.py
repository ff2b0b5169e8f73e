"""Stream a multipart upload straight to a file in TEMP_DIR, enforcing the size limit as it
arrives: the body is never held in memory (python-multipart's push parser)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.errors import ApiError
from app.storage import INCOMING_PREFIX

FIELD = "file"
# Multipart framing around the file: boundaries and part headers.
FRAMING_SLACK_BYTES = 64 * 1024
MAX_FILENAME_CHARS = 255

logger = logging.getLogger(__name__)
# The parser logs a WARNING for each malformed body before raising; a client's bad
# body is not a fault of this service, so only our own INFO line reports it.
_PARSER_LOG = logging.getLogger(f"{__name__}.parser")
_PARSER_LOG.setLevel(logging.ERROR)


def check_filename(name: str) -> str:
    """Reject names that try to be paths; the name is only ever shown back, never used on disk."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or any(ord(char) < 32 for char in name)
        or len(name) > MAX_FILENAME_CHARS
    ):
        # The name is not echoed: it may itself look like a path on some server.
        raise ApiError(
            400,
            "invalid_filename",
            "invalid file name: give a plain name (no directories, no control characters, "
            f"at most {MAX_FILENAME_CHARS} characters)",
        )
    return name


@dataclass
class _State:
    directory: Path
    max_bytes: int
    header_field: bytes = b""
    header_value: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    handle: IO[bytes] | None = None
    in_file_part: bool = False
    path: Path | None = None
    filename: str | None = None
    size: int = 0
    error: ApiError | None = None
    complete: bool = False

    def part_begin(self) -> None:
        self.headers = {}
        self.in_file_part = False

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.strip().lower()] = self.header_value.strip()
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if options.get(b"name") != FIELD.encode() or self.path is not None:
            return
        raw_name = options.get(b"filename")
        if raw_name is None:
            self.error = ApiError(422, "invalid_request", f"field '{FIELD}' must be a file")
            return
        try:
            self.filename = check_filename(raw_name.decode("utf-8", errors="replace"))
        except ApiError as exc:
            self.error = exc
            return
        self.path = self.directory / f"{INCOMING_PREFIX}{uuid.uuid4().hex}.part"
        self.handle = self.path.open("wb")
        self.in_file_part = True

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file_part or self.handle is None or self.error is not None:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            self.error = ApiError(
                413, "payload_too_large", f"file is larger than the {self.max_bytes} byte limit"
            )
            return
        self.handle.write(data[start:end])

    def part_end(self) -> None:
        if self.in_file_part and self.handle is not None:
            self.handle.close()
            self.handle = None
        self.in_file_part = False

    def end(self) -> None:
        self.complete = True

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


async def receive_upload(request: Request, directory: Path, max_bytes: int) -> tuple[Path, str]:
    """Return (file on disk, client's file name) or raise ApiError; nothing is left behind."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(
            415, "unsupported_media", f"send multipart/form-data with the clip in field '{FIELD}'"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FRAMING_SLACK_BYTES:
        raise ApiError(413, "payload_too_large", f"file is larger than the {max_bytes} byte limit")

    directory.mkdir(parents=True, exist_ok=True)
    state = _State(directory, max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": state.part_begin,
            "on_header_field": state.header_field_data,
            "on_header_value": state.header_value_data,
            "on_header_end": state.header_end,
            "on_headers_finished": state.headers_finished,
            "on_part_data": state.part_data,
            "on_part_end": state.part_end,
            "on_end": state.end,
        },
    )
    parser.logger = _PARSER_LOG
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if state.error is not None:
                raise state.error
        parser.finalize()
    except ApiError:
        state.discard()
        raise
    except OSError as exc:
        # Disk full or TEMP_DIR unwritable: the server's problem, and its paths stay here.
        state.discard()
        logger.warning("could not store an upload: %s", exc)
        raise ApiError(
            507, "insufficient_storage", "the server could not store the upload; try later"
        ) from None
    except Exception as exc:  # malformed framing or a client that went away mid-upload
        state.discard()
        logger.info("upload rejected, unreadable multipart body: %s", exc)
        raise ApiError(
            400, "bad_request", "malformed multipart/form-data body: could not read its parts"
        ) from None
    if not state.complete:
        state.discard()
        raise ApiError(
            400,
            "incomplete_body",
            "the multipart body ended before its closing boundary: the upload was cut short",
        )
    if state.path is None or state.filename is None:
        state.discard()
        raise ApiError(422, "invalid_request", f"multipart field '{FIELD}' (a file) is required")
    state.part_end()
    return state.path, state.filename
