"""The image's filesystem as data: every path with its type, mode and owner, and the
contents of a few small files, read from ``docker export`` of a created (never
started) container. No shell, no coreutils and no running process are needed.

Symbolic links are followed as the kernel would (also in the middle of a path, as
with /bin -> usr/bin), inside the image, never on the host.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from io import RawIOBase
from typing import Any

from conformance.probes.errors import FactError

MAX_CONTENT_BYTES = 4 * 1024 * 1024
_MAX_SYMLINK_HOPS = 40
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str  # "file" | "dir" | "symlink" | "other"
    mode: int
    uid: int
    gid: int
    link: str = ""  # a symlink's target, or a hard link's original (as absolute path)


class _ChunkReader(RawIOBase):
    """A file object over the byte chunks the Docker SDK streams."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _normal(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    path = posixpath.normpath("/" + name.lstrip("/"))
    return "/" if path in ("/.", "//") else path


@dataclass
class ImageFilesystem:
    entries: dict[str, Entry] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_tar(cls, chunks: Iterable[bytes], wanted: Iterable[str] = ()) -> ImageFilesystem:
        """Index a tar stream; keep the contents of the ``wanted`` regular files."""
        fs = cls()
        keep = {_normal(path) for path in wanted}
        fs.entries["/"] = Entry("/", "dir", 0o755, 0, 0)
        try:
            with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|") as tar:
                for member in tar:
                    entry = fs._add(member)
                    if entry.path in keep and member.isfile() and member.size <= MAX_CONTENT_BYTES:
                        handle = tar.extractfile(member)
                        fs.contents[entry.path] = handle.read() if handle else b""
        except (tarfile.TarError, OSError) as exc:
            raise FactError(f"the image's filesystem could not be read: {exc}") from None
        if len(fs.entries) < 2:
            raise FactError("the image's filesystem export was empty")
        return fs

    def _add(self, member: tarfile.TarInfo) -> Entry:
        path = _normal(member.name)
        if member.issym():
            kind, link = "symlink", member.linkname
        elif member.islnk():
            kind, link = "file", _normal(member.linkname)
        elif member.isdir():
            kind, link = "dir", ""
        elif member.isfile():
            kind, link = "file", ""
        else:
            kind, link = "other", ""
        entry = Entry(path, kind, member.mode, member.uid, member.gid, link)
        self.entries[path] = entry
        # Parents an archive leaves out are directories all the same.
        child = path
        while child != "/":
            parent, name = posixpath.split(child)
            self.children.setdefault(parent, set()).add(name)
            if parent in self.entries:
                break
            self.entries[parent] = Entry(parent, "dir", 0o755, 0, 0)
            child = parent
        return entry

    # -- looking things up ----------------------------------------------------------
    def resolve(self, path: str) -> str | None:
        """The path with every symlink followed, or None when it does not exist."""
        queue = [part for part in path.split("/") if part]
        resolved, hops = "/", 0
        while queue:
            part = queue.pop(0)
            if part == ".":
                continue
            if part == "..":
                resolved = posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, part)
            entry = self.entries.get(candidate)
            if entry is None:
                return None
            if entry.kind == "symlink":
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    return None
                if entry.link.startswith("/"):
                    resolved = "/"
                queue = [p for p in entry.link.split("/") if p] + queue
                continue
            resolved = candidate
        return resolved

    def lookup(self, path: str) -> Entry | None:
        resolved = self.resolve(path)
        return self.entries.get(resolved) if resolved else None

    def read_text(self, path: str) -> str:
        """A file the export was asked to keep; FactError when it is absent or unread."""
        resolved = self.resolve(path)
        entry = self.entries.get(resolved) if resolved else None
        if entry is None:
            raise FactError(f"{path} does not exist in the image")
        if entry.kind != "file":
            raise FactError(f"{path} is not a regular file in the image")
        content = self.contents.get(entry.link or entry.path)
        if content is None:
            content = self.contents.get(entry.path)
        if content is None:
            raise FactError(f"{path} was not read from the image (not asked for, or too big)")
        return content.decode(errors="replace")

    def is_dir(self, path: str) -> bool:
        entry = self.lookup(path)
        return entry is not None and entry.kind == "dir"

    def under(self, path: str) -> Iterator[Entry]:
        """Every entry at or below a directory (after following symlinks to it)."""
        root = self.resolve(path)
        if root is None:
            return
        prefix = root.rstrip("/") + "/"
        for entry in self.entries.values():
            if entry.path == root or entry.path.startswith(prefix):
                yield entry

    def listdir(self, path: str) -> list[str]:
        root = self.resolve(path)
        return sorted(self.children.get(root, set())) if root else []

    def which(self, name: str, search_path: str = DEFAULT_PATH) -> str | None:
        """Where ``name`` would be found on ``search_path``, as an executable file."""
        for directory in search_path.split(":"):
            if not directory:
                continue
            candidate = posixpath.join(directory, name)
            entry = self.lookup(candidate)
            if entry is not None and entry.kind == "file" and entry.mode & 0o111:
                return candidate
        return None

    def glob(self, pattern: str) -> list[str]:
        """Shell-style: `*` stays within one path component; nothing is followed."""
        matches = ["/"]
        for part in [p for p in pattern.split("/") if p]:
            found = []
            for base in matches:
                names = self.children.get(base, set())
                if any(ch in part for ch in "*?["):
                    found += [posixpath.join(base, n) for n in names if fnmatchcase(n, part)]
                elif part in names:
                    found.append(posixpath.join(base, part))
            matches = found
        return sorted(m for m in matches if m != "/")

    def setuid_files(self) -> list[str]:
        return sorted(e.path for e in self.entries.values() if e.kind == "file" and e.mode & 0o6000)


def writable_by(entry: Entry, uid: int, gids: set[int]) -> bool:
    """Whether a user may write to it, from its owner and mode bits."""
    if uid == 0:
        return True
    if entry.uid == uid:
        return bool(entry.mode & 0o200)
    if entry.gid in gids:
        return bool(entry.mode & 0o020)
    return bool(entry.mode & 0o002)
