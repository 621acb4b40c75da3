#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the store tests: uses the one
# running, else starts the Debian cluster (pg_ctlcluster), else installs Debian's postgresql with
# apt and starts it; local TCP connections are allowed with trust auth when they are not yet, and
# the database the tests connect to (`test`) is created when missing. Prints the URL the tests
# read as PULSE_TEST_POSTGRES_URL (each test creates and drops a database of its own there).
set -euo pipefail
port="${PULSE_POSTGRES_PORT:-5432}"
db="${PULSE_POSTGRES_DB:-test}"
url="postgres://postgres@127.0.0.1:$port/$db"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi; }

answers() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h 127.0.0.1 -p "$port"
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# The tests connect as `postgres` without a password over TCP.
connects() {
    command -v psql >/dev/null || return 0
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
}

ensure_database() {
    command -v psql >/dev/null || return 0
    if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
        "select 1 from pg_database where datname = '$db'" | grep -q 1; then
        echo "== creating database $db" >&2
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$db\"" >&2
    fi
}

allow_trust() {
    local hba
    hba="$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | head -n1 || true)"
    [ -n "$hba" ] || return 0
    if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
        echo "== allowing trust auth for local TCP connections in $hba" >&2
        $sudo sed -i '0,/^host/s//host    all             all             127.0.0.1\/32            trust\nhost    all             all             ::1\/128                 trust\nhost/' "$hba"
        local version
        version="$(basename "$(dirname "$(dirname "$hba")")")"
        $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2 || true
    fi
}

if answers && connects; then
    ensure_database
    echo "$url"
    exit 0
fi
if ! answers; then
    if ! command -v pg_ctlcluster >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        echo "== installing postgresql (apt)" >&2
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    fi
    version="$(ls /etc/postgresql | sort -n | tail -n1)"
    allow_trust
    echo "== starting PostgreSQL $version on 127.0.0.1:$port" >&2
    $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    for _ in $(seq 1 100); do
        answers && break
        sleep 0.1
    done
fi
if ! answers; then
    echo "error: PostgreSQL did not answer on 127.0.0.1:$port" >&2
    exit 1
fi
if ! connects; then
    allow_trust
    sleep 0.5
fi
if ! connects; then
    echo "error: PostgreSQL on 127.0.0.1:$port refuses user postgres without a password (set PULSE_TEST_POSTGRES_URL)" >&2
    exit 1
fi
ensure_database
echo "$url"
