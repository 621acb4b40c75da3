#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379 for the quote-cache tests: uses the one
# running, else starts Debian's redis-server (installed with apt when missing) with no
# persistence. Prints the URL the tests read as PULSE_TEST_REDIS_URL.
set -euo pipefail
port="${PULSE_REDIS_PORT:-6379}"
url="redis://127.0.0.1:$port/0"

ping() {
    if command -v redis-cli >/dev/null; then
        redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG
    else
        # No client installed: speak RESP over bash's /dev/tcp.
        exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
        printf 'PING\r\n' >&3
        local reply
        read -r -t 2 reply <&3 || true
        exec 3>&-
        [[ "$reply" == +PONG* ]]
    fi
}

if ping; then
    echo "$url"
    exit 0
fi
if ! command -v redis-server >/dev/null; then
    echo "== installing redis-server (apt)" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
echo "== starting redis-server on 127.0.0.1:$port" >&2
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save '' --appendonly no >&2
for _ in $(seq 1 50); do
    if ping; then
        echo "$url"
        exit 0
    fi
    sleep 0.1
done
echo "error: redis-server did not answer on 127.0.0.1:$port" >&2
exit 1
