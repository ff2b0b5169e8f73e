"""Which HTTP paths a command requests, learnt by answering it: in a running container
of the image, a stand-in server (the image's own Python, standard library only) listens
on the service port, the command runs beside it, and every path it asked for is
recorded. A health probe's path is then known whatever the probe is (a module of the
app, curl, a script) without reading its code or guessing from its arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.probes import tools
from conformance.probes.errors import FactError

# argv: port, the body to answer with, the command's extra environment (JSON), its
# timeout in seconds, then the command. Prints one JSON line: {"rc", "paths"} or {"error"}.
STAND_IN = r"""
import http.server, json, os, socket, subprocess, sys, threading
port, body, env = int(sys.argv[1]), sys.argv[2].encode(), json.loads(sys.argv[3])
timeout, argv, seen = float(sys.argv[4]), sys.argv[5:], []
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_HEAD = do_POST = do_GET
    def log_message(self, *args):
        pass
class DualStack(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
try:
    try:
        server = DualStack(("::", port), Answer)
    except OSError:
        server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Answer)
except OSError as exc:
    print(json.dumps({"error": f"cannot listen on port {port}: {exc.strerror}"}))
    sys.exit(0)
threading.Thread(target=server.serve_forever, daemon=True).start()
try:
    rc = subprocess.run(argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        timeout=timeout).returncode
except subprocess.TimeoutExpired:
    rc = None
except OSError as exc:
    print(json.dumps({"error": f"{argv[0]} cannot run: {exc.strerror}"}))
    sys.exit(0)
print(json.dumps({"rc": rc, "paths": seen}))
"""


@dataclass(frozen=True)
class Requested:
    paths: tuple[str, ...]  # without query strings, in the order asked
    rc: int | None  # the command's exit code; None: it did not finish in time


def requested_paths(
    container: Any,
    python: str,
    argv: list[str],
    port: int,
    body: str,
    env: dict[str, str],
    user: str = "",
    timeout_s: float = 10.0,
) -> Requested:
    """Run ``argv`` (as ``user``, with ``env`` added) next to a stand-in server on
    ``port`` that answers every request 200 with ``body``; the paths it requested.
    ``container`` must have nothing listening on that port (the suite's idle one)."""
    command = [python, "-c", STAND_IN, str(port), body, json.dumps(env), str(timeout_s), *argv]
    result = tools.run(container, command, user, timeout_s + 15)
    if not result.ok:
        raise FactError(f"the stand-in server did not run in the image: {result.why()}")
    lines = result.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (ValueError, IndexError):
        raise FactError(f"the stand-in server printed no result: {result.why()}") from None
    if "error" in data:
        raise FactError(f"the stand-in server: {data['error']}")
    return Requested(tuple(str(p).split("?", 1)[0] for p in data["paths"]), data["rc"])
