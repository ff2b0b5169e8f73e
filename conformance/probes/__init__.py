"""Fact gatherers, each without a shell in the image and without pytest.

- ``filesystem``: the image's files, modes and owners from an exported, never
  started container (passwd, setuid bits, caches, build tools, the SPA bundle).
- ``accounts``: /etc/passwd and /etc/group as data.
- ``process``: who PID 1 runs as, read by the engine from outside the container.
- ``tools``: a program of the image (ffmpeg, ffprobe, python) run by argv, never
  through ``sh -c``.
- ``requested``: which path a healthcheck command really requests, recorded by a
  stand-in server of the image's own Python on the service port.
- ``compose``: the compose service as compose itself resolves it.

A gatherer that cannot establish its fact raises ``FactError`` with a one-line
reason; a check turns that into *error*, never into "nothing found".
"""

from conformance.probes.errors import FactError

__all__ = ["FactError"]
