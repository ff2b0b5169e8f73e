"""Every check ID of the contract with its one-line title (the report's and the docs' source)."""

from __future__ import annotations

CHECKS: dict[str, str] = {
    "IMG-USER": "Config.User is set and resolves to a non-zero UID",
    "IMG-HEALTHCHECK": "HEALTHCHECK declared with interval/timeout/start-period/retries in bounds",
    "IMG-PORT": "the service port is exposed",
    "IMG-EXEC-FORM": "CMD/ENTRYPOINT in exec form so PID 1 receives SIGTERM",
    "IMG-SIZE": "uncompressed image size within the limit",
    "IMG-LAYERS": "layer count within the limit",
    "IMG-SECRETS": "no secret-looking values in Env, Labels or build history",
    "IMG-LABELS": "OCI labels source, revision, version, created are present",
    "IMG-WORKDIR": "working directory is the expected one",
    "FS-APPUSER": "app user exists with UID/GID >= 1000, no login shell, expected home",
    "FS-PID1-USER": "the server process (PID 1) runs as the app user, not root",
    "FS-WRITABLE": "the data directories are writable by the app user",
    "FS-READONLY-CODE": "application code and venv are not writable by the app user",
    "FS-NO-BUILD-TOOLS": "no compilers or build tools in the runtime image",
    "FS-NO-CACHES": "no apt lists or pip caches left behind",
    "FS-SETUID": "no setuid/setgid binaries beyond the allowlist, no sudo",
    "FS-PYTHON": "Python major.minor is the expected one",
    "FS-PIP-CHECK": "pip check is clean and the required modules import",
    "FS-FRONTEND": "the SPA bundle (index.html + assets/) is present",
    "FF-PRESENT": "ffmpeg and ffprobe run as the app user",
    "FF-CODECS": "required encoders, decoders, muxers and filters are listed",
    "FF-TRANSCODE": "a generated clip transcodes to H.264/AAC MP4 as the app user, in time",
    "FF-BINDINGS": "ffmpeg-python in the app's interpreter drives a real pipeline",
    "RUN-STARTS": "the container stays up after start",
    "RUN-READY": "first 200 from the health path within the start period",
    "RUN-HEALTH-BODY": "the health body is the expected JSON",
    "RUN-HEALTHCHECK-CMD": "the image's own HEALTHCHECK command succeeds in the container",
    "RUN-HEALTHCHECK-REAL": "the HEALTHCHECK command fails when the app is not serving",
    "RUN-DOCKER-HEALTHY": "Docker reports healthy within start-period + interval + timeout",
    "RUN-DETAILED": "/health/detailed reports every component",
    "RUN-LATENCY": "health latency p95 within the limit",
    "RUN-GRACEFUL-STOP": "docker stop ends the container cleanly (exit 0) in time",
    "RUN-HARDENED": "starts and serves read-only, with all capabilities dropped, no-new-privileges",
    "RUN-MIN-RESOURCES": "starts and transcodes under the minimum CPU and memory",
    "RUN-BAD-CONFIG": "invalid configuration fails fast with a one-line reason",
    "SEC-AUTH": "protected API routes answer 401 without a valid key, public routes stay open",
    "SEC-HEADERS": "security headers on pages and API answers, no Server header naming software",
    "SEC-RATE-LIMIT": "a burst past the limit gets 429 with Retry-After",
    "SPA-INDEX": "GET / serves the bundle's index.html",
    "SPA-FALLBACK": "client routes get index.html for HTML requests, not for JSON ones",
    "SPA-ASSETS": "referenced assets served with the right type and cache headers",
    "SPA-ASSET-404": "a missing asset is a 404, never index.html",
    "SPA-API-PRECEDENCE": "API and health routes win over the SPA; unknown /api paths are "
    "JSON 404s",
    "SPA-TRAVERSAL": "path traversal never serves a file outside the bundle",
    "SPA-DISABLED": "ENABLE_STATIC_FILES=false turns the SPA off and keeps the API",
    "SPA-BROWSER": "a deep link renders in a headless browser without console errors",
    "LOG-CLEAN": "no errors, tracebacks or unexpected warnings in the logs",
    "LOG-STDOUT": "logs go to stdout/stderr, not to files in the container",
    "LOG-NO-SECRETS": "secret values given at run time never appear in the logs",
    "LOG-LEVEL": "LOG_LEVEL is honoured",
    "DEP-ECS": "the ECS task definition agrees with the image",
    "DEP-COMPOSE": "the compose service agrees with the image and works with it",
    "DEP-COMPOSE-FULL": "the compose full profile comes up healthy and takes a real job through "
    "API, queue, workers, database and storage",
}

SECTIONS = ("IMG", "FS", "FF", "RUN", "SEC", "SPA", "LOG", "DEP")

# The seed document's own nine smoke tests, each answered by the checks that decide it
# (`pytest --image=X -m seed` runs just these and prints the seed's names).
SEED: dict[str, tuple[str, ...]] = {
    "image exists": ("IMG-SIZE",),
    "container starts": ("RUN-STARTS",),
    "container becomes healthy": ("RUN-DOCKER-HEALTHY",),
    "health endpoint responds": ("RUN-READY", "RUN-HEALTH-BODY"),
    "FFmpeg is installed": ("FF-PRESENT",),
    "Python 3.13 is present": ("FS-PYTHON",),
    "running as non-root": ("IMG-USER", "FS-PID1-USER"),
    "API routes respond": ("SPA-API-PRECEDENCE",),
    "no errors in logs": ("LOG-CLEAN",),
}
SEED_IDS = frozenset(check_id for ids in SEED.values() for check_id in ids)

# Profile sections a fork may switch off (`required = false` with a `reason`): each
# waives these checks as one waiver. The image, filesystem, runtime and log sections
# hold the contract's invariants and cannot be switched off.
SWITCHABLE_SECTIONS: dict[str, tuple[str, ...]] = {
    "ffmpeg": tuple(i for i in CHECKS if i.startswith("FF-")),
    "spa": (*(i for i in CHECKS if i.startswith("SPA-")), "FS-FRONTEND"),
    "deploy": tuple(i for i in CHECKS if i.startswith("DEP-")),
    # A fork without auth of its own (an ALB with OIDC in front authenticates).
    "security": tuple(i for i in CHECKS if i.startswith("SEC-")),
    # A fork that ships one container, without a database, queue or storage server.
    "full_stack": ("DEP-COMPOSE-FULL",),
}
# Checks no waiver can excuse: PID 1 and the image's USER are never root.
UNWAIVABLE = frozenset({"IMG-USER", "FS-PID1-USER"})
