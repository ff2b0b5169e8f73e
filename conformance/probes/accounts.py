"""The image's user accounts, parsed from /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str
    shell: str


def parse_passwd(text: str) -> dict[str, PasswdEntry]:
    entries = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
            entries[parts[0]] = PasswdEntry(
                parts[0], int(parts[2]), int(parts[3]), parts[5], parts[6]
            )
    return entries


def supplementary_gids(group_text: str, user: str) -> set[int]:
    """The groups that list ``user`` as a member."""
    gids = set()
    for line in group_text.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and user in parts[3].split(","):
            gids.add(int(parts[2]))
    return gids
