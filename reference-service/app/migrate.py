"""`python -m app.migrate`: bring the job database named by DATABASE_URL to the newest schema.

    DATABASE_URL=postgresql://user:password@host:5432/jobs python -m app.migrate

Exit 0 once the schema is current (also when it already was), with one line on stdout;
exit 1 with one line on stderr when DATABASE_URL is unset or not Postgres, or the server
cannot be reached. The API and the workers migrate at start-up too, under the same lock;
this is for a release step that migrates before the new replicas roll out.

DATABASE_URL is read directly, not through Settings: a migration step needs none of the
service's other settings (production's API_KEYS among them).
"""

from __future__ import annotations

import asyncio
import os
import sys

EXIT_FAILED = 1


async def _migrate(database_url: str) -> None:
    from app.jobs.store.postgres import PostgresJobStore

    store = await PostgresJobStore.connect(database_url)  # connecting runs the migrations
    await store.close()


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if not database_url:
        print("DATABASE_URL is not set: nothing to migrate", file=sys.stderr)
        return EXIT_FAILED
    from app.jobs.store import StoreUnavailable

    try:
        asyncio.run(_migrate(database_url))
    except (StoreUnavailable, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    print("job database schema is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
