#!/bin/sh
# The postgres stand-in's entrypoint, after the official image's contract: on the
# first start (an empty PGDATA) initdb with POSTGRES_USER / POSTGRES_PASSWORD
# (required: the server listens on the network), create POSTGRES_DB, then run the
# server in the foreground as PID 1, listening on all addresses with password
# (SCRAM) authentication for other hosts. Arguments starting with "-" go to postgres.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
# Anything else (psql, bash...) runs as given.
[ "$1" = postgres ] || exec "$@"

[ "$(id -u)" != 0 ] || { echo "error: run this image as the postgres user, not root" >&2; exit 1; }

: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD is empty: set the password of $user (the server listens on the network)" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # POSTGRES_INITDB_ARGS is a list of flags: split on purpose, as the official image does.
  # shellcheck disable=SC2086
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    # Socket only while the database is made: a TCP probe (the healthcheck) must not
    # see the server before it is ready.
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
    createdb --username="$user" "$db"
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
  fi
  echo "postgres stand-in: initialised $PGDATA (user $user, database $db)"
fi

exec "$@"
