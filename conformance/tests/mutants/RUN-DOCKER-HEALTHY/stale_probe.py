"""Mutant RUN-DOCKER-HEALTHY: a probe that goes stale after its first success.

Run by hand it succeeds (once), with no server it fails, yet Docker's probes,
which come one interval (30 s) after the start, never see it pass.
"""

import os
import sys

from app.healthcheck import main

MARKER = "/app/temp/.probe-used"

if os.path.exists(MARKER):
    sys.exit(1)
result = main()
if result == 0:
    open(MARKER, "w").close()
sys.exit(result)
