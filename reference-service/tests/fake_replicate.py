"""A local stand-in for api.replicate.com: the prediction endpoints the `replicate` client
calls (create by model or version, get, cancel) plus a file server for the output URL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Behaviour:
    """What the fake does; tests flip these to produce each failure mode."""

    polls_until_done: int = 2
    final_status: str = "succeeded"
    error: str | None = None
    create_status: int = 201
    get_status: int = 200
    create_delay: float = 0.0
    get_delay: float = 0.0
    output: Any = "__file__"  # replaced by the URL of `video`
    output_status: int = 200
    video: Path | None = None


@dataclass
class FakeReplicate:
    behaviour: Behaviour = field(default_factory=Behaviour)
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    url: str = ""

    def prediction_json(self, prediction_id: str) -> dict[str, Any]:
        return self.predictions[prediction_id]


def _handler(fake: FakeReplicate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> None:
            fake.requests.append((self.command, self.path, self.headers.get("Authorization")))

        def do_POST(self) -> None:
            self._record()
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            parts = self.path.strip("/").split("/")
            if parts[-1] == "cancel":
                prediction = fake.predictions[parts[2]]
                prediction["status"] = "canceled"
                fake.cancelled.append(parts[2])
                self._send(200, prediction)
                return
            time.sleep(fake.behaviour.create_delay)
            if fake.behaviour.create_status >= 400:
                self._send(
                    fake.behaviour.create_status,
                    {
                        "title": "Internal Server Error",
                        "detail": "simulated outage",
                        "status": fake.behaviour.create_status,
                    },
                )
                return
            model = "/".join(parts[2:4]) if parts[1] == "models" else "owner/versioned"
            prediction_id = uuid.uuid4().hex[:12]
            fake.predictions[prediction_id] = {
                "id": prediction_id,
                "model": model,
                "version": body.get("version", "hidden"),
                "status": "starting",
                "input": body.get("input"),
                "output": None,
                "logs": "",
                "error": None,
                "metrics": {},
                "created_at": "2025-01-01T00:00:00Z",
                "started_at": None,
                "completed_at": None,
                "urls": {
                    "get": f"{fake.url}/v1/predictions/{prediction_id}",
                    "cancel": f"{fake.url}/v1/predictions/{prediction_id}/cancel",
                },
            }
            fake.polls[prediction_id] = 0
            self._send(fake.behaviour.create_status, fake.predictions[prediction_id])

        def do_GET(self) -> None:
            self._record()
            if self.path.startswith("/files/"):
                self._serve_file()
                return
            prediction_id = self.path.strip("/").split("/")[2]
            time.sleep(fake.behaviour.get_delay)
            if fake.behaviour.get_status >= 400:
                self._send(fake.behaviour.get_status, {"detail": "simulated failure"})
                return
            prediction = fake.predictions[prediction_id]
            fake.polls[prediction_id] += 1
            if prediction["status"] in ("starting", "processing"):
                prediction["status"] = "processing"
                if fake.polls[prediction_id] >= fake.behaviour.polls_until_done:
                    prediction["status"] = fake.behaviour.final_status
                    prediction["error"] = fake.behaviour.error
                    output = fake.behaviour.output
                    if output == "__file__":
                        output = f"{fake.url}/files/output.mp4"
                    prediction["output"] = output
            self._send(200, prediction)

        def _serve_file(self) -> None:
            video = fake.behaviour.video
            if fake.behaviour.output_status != 200 or video is None:
                self._send(fake.behaviour.output_status, {"detail": "gone"})
                return
            data = video.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class FakeReplicateServer:
    """Listens on `host` (loopback by default; a container reaches it on its network's
    gateway address), on a free port."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.fake = FakeReplicate()
        self.server = ThreadingHTTPServer((host, 0), _handler(self.fake))
        self.server.daemon_threads = True
        self.fake.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeReplicate:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
