#!/usr/bin/env bash
# Make sure the PostgreSQL that the tests use is running and has the `baltmet` role.
#
# With DATABASE_URL set, that server is the caller's business: we only check that it answers.
# Without it, we use the local cluster: start it if stopped, create role and database
# `baltmet` (password `baltmet`, CREATEDB so pytest-django can create its test database)
# if missing. Running it again changes nothing.
set -euo pipefail

fail() { echo "ensure-postgres: $*" >&2; exit 1; }

if [ -n "${DATABASE_URL:-}" ]; then
    case "$DATABASE_URL" in
        postgres://*|postgresql://*) ;;
        *) fail "DATABASE_URL must point to PostgreSQL for the tests (got '${DATABASE_URL%%:*}://...'); they never run on SQLite." ;;
    esac
    if command -v pg_isready >/dev/null && ! pg_isready -q -d "$DATABASE_URL" -t 10; then
        fail "the PostgreSQL server in DATABASE_URL does not answer."
    fi
    exit 0
fi

if ! command -v pg_lsclusters >/dev/null || ! command -v psql >/dev/null; then
    fail "PostgreSQL is not installed. Install it (Debian/Ubuntu: 'apt-get install postgresql') or set DATABASE_URL=postgres://user:password@host:port/dbname to a server whose user may create databases."
fi

# The first cluster listed is the one we use, e.g. "15 main 5432 down postgres ...".
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1) || true
[ -n "${version:-}" ] || fail "PostgreSQL is installed but has no cluster. Create one ('pg_createcluster 15 main') or set DATABASE_URL."
[ "$port" = "5432" ] || fail "the local cluster $version/$cluster listens on port $port, not 5432; set DATABASE_URL=postgres://baltmet:baltmet@127.0.0.1:$port/baltmet."

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then
        "$@"
    else
        sudo -n -u postgres -- "$@" 2>/dev/null || fail "need root or sudo to manage the local cluster; or set DATABASE_URL to a server you can use."
    fi
}

if [ "$status" != "online" ]; then
    echo "ensure-postgres: starting PostgreSQL cluster $version/$cluster"
    if [ "$(id -u)" = 0 ]; then
        pg_ctlcluster "$version" "$cluster" start
    else
        sudo -n pg_ctlcluster "$version" "$cluster" start 2>/dev/null \
            || fail "cluster $version/$cluster is stopped and starting it needs root: run 'sudo pg_ctlcluster $version $cluster start' or set DATABASE_URL."
    fi
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$port" || fail "cluster $version/$cluster did not start; see /var/log/postgresql/postgresql-$version-$cluster.log"

psql_postgres() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(psql_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'baltmet'")" != "1" ]; then
    echo "ensure-postgres: creating role baltmet"
    psql_postgres -c "CREATE ROLE baltmet LOGIN CREATEDB PASSWORD 'baltmet'"
fi
if [ "$(psql_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'baltmet'")" != "1" ]; then
    echo "ensure-postgres: creating database baltmet"
    psql_postgres -c "CREATE DATABASE baltmet OWNER baltmet"
fi
