"""FFmpeg/ffprobe for the tests against the image, and a look into a container's folders.

A tool container idles for the whole session and each call is a `docker exec` (about
0.1 s, against about 1 s for a container per call), on files in a host folder mounted at
the same path, as the caller's uid. Inputs the service's FFmpeg cannot encode come from
Debian's full FFmpeg (media_maker/Dockerfile), built once on the base the service image
was built on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker.errors

from tests.integration.container import LABEL, missing
from tests.media import Runner

MAKER_DIR = Path(__file__).resolve().parent / "media_maker"
# The bases scripts/build-backend.sh builds on (scripts/lib.sh): the official image, or
# the stand-in it makes from Debian packages on a machine that cannot pull it.
BASES = ("python:3.13-slim", "ai-video-base:python3.13-trixie")
# Both kinds of image have Python; the service's shell-less variant has nothing else.
IDLE = ["python", "-c", "import signal; signal.pause()"]


class ToolFailed(RuntimeError):
    pass


@contextmanager
def tool_container(client: Any, image: str, workdir: Path) -> Iterator[Runner]:
    """A Runner executing tools in one idle container of `image` with `workdir` mounted."""
    container = client.containers.run(
        image,
        entrypoint=IDLE,
        detach=True,
        user=f"{os.getuid()}:{os.getgid()}",
        volumes={str(workdir): {"bind": str(workdir), "mode": "rw"}},
        working_dir=str(workdir),
        labels={LABEL: "1"},
        network_disabled=True,
    )

    def run(tool: str, args: list[str]) -> str:
        code, (out, err) = container.exec_run([tool, *args], demux=True)
        if code != 0:
            tail = (err or b"").decode(errors="replace").strip().splitlines()[-3:]
            raise ToolFailed(f"{tool} {' '.join(args)} exited with {code}: {' | '.join(tail)}")
        return (out or b"").decode()

    try:
        yield run
    finally:
        container.remove(force=True)


def media_maker(client: Any) -> str:
    """The Debian FFmpeg image, built unless an image of the current Dockerfile exists."""
    dockerfile = (MAKER_DIR / "Dockerfile").read_bytes()
    tag = f"ai-video-test-media:{hashlib.sha256(dockerfile).hexdigest()[:12]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    base = next((name for name in BASES if _exists(client, name)), None)
    if base is None:
        missing(f"none of {', '.join(BASES)} is here to build {tag} on: build the image first")
    try:
        client.images.build(
            path=str(MAKER_DIR), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True, forcerm=True
        )
    except docker.errors.BuildError as exc:
        missing(f"could not build {tag} (Debian's ffmpeg package): {exc}")
    return tag


def _exists(client: Any, image: str) -> bool:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


# Lists a folder recursively; exit status 3 when it does not exist.
_LIST = """
import os, sys
root = sys.argv[1]
if not os.path.isdir(root):
    sys.exit(3)
for folder, dirs, files in os.walk(root):
    for name in dirs + files:
        print(os.path.relpath(os.path.join(folder, name), root))
"""


def entries(container: Any, path: str) -> list[str] | None:
    """What is inside `path` in the container (recursively), None when it does not exist.

    Run inside the container with its Python (the shell-less image has no `ls`): the
    archive API would read the image's own folder under a tmpfs mount, not the mount.
    """
    code, output = container.exec_run(["python", "-c", _LIST, path])
    if code == 3:
        return None
    if code != 0:
        raise ToolFailed(f"listing {path} in the container failed ({code}): {output!r}")
    return sorted(output.decode().splitlines())
