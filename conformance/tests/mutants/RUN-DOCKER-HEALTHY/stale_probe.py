"""Mutant RUN-DOCKER-HEALTHY: a probe that only passes in the container's first 25 s.

Run by hand it succeeds, with no server it fails, yet Docker's first probe comes
one interval (30 s) after the start and never sees it pass.
"""

import os
import sys

from app.healthcheck import main

with open("/proc/uptime") as uptime, open("/proc/1/stat") as stat:
    now = float(uptime.read().split()[0])
    started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
sys.exit(1 if now - started > 25 else main())
