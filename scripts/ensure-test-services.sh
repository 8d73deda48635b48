#!/usr/bin/env bash
# Run a command (the test suite) with the services the tests need besides PostgreSQL:
#
#     scripts/ensure-test-services.sh [extra-debian-package ...] -- command [args ...]
#
# 1. Installs the Debian packages in TEST_DEBIAN_PACKAGES below (and any named before `--`)
#    that are missing, with a single `apt-get update` first; this needs root or passwordless
#    sudo. Other test needs (a browser, ...) add their package to the same list.
# 2. Starts a throwaway redis-server on 127.0.0.1:6379: no persistence, its pidfile, log and
#    working folder in a temporary directory. If that port is taken (another test run, a
#    system Redis), it starts its own on a free port instead, so that no other run can stop
#    it midway. REDIS_TEST_PORT=N uses a Redis already answering on port N as it is (the
#    tests write there under key prefixes of their own).
# 3. Runs the command with REDIS_TEST_URL=redis://127.0.0.1:$REDIS_TEST_PORT exported (the
#    tests that need Redis read it; the others keep the local-memory cache), and stops the
#    redis-server it started when the command ends, whether the tests pass, fail or are
#    interrupted (a TERM or HUP to this script is passed on to the command as a Ctrl-C). The
#    command's exit status is the script's, but after such a signal it is never 0.
#
# Where a package cannot be installed or Redis does not start, it stops with a message and a
# non-zero status: the tests that need Redis fail rather than being skipped.
set -euo pipefail

# Debian packages the test suite needs. Keep one list, so apt-get update runs at most once.
# chromium: the browser tests (tests/browser/) drive Debian's Chromium with Playwright, never a
# browser that `playwright install` would download; fonts-liberation: Arial-metric fonts, so
# pages lay out in the tests as they do in a desktop browser.
TEST_DEBIAN_PACKAGES=(redis-server chromium fonts-liberation)

fail() { echo "ensure-test-services: $*" >&2; exit 1; }

packages=("${TEST_DEBIAN_PACKAGES[@]}")
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    packages+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || fail "usage: $0 [debian-package ...] -- command [args ...]"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for package in "${packages[@]}"; do
    installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null \
        || fail "the tests need the Debian packages: ${missing[*]}, and this system has no apt-get. Install them (redis-server provides Redis) and run again."
    if [ "$(id -u)" = 0 ]; then
        as_root=()
    elif sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        fail "the tests need the Debian packages: ${missing[*]}. Installing them needs root or passwordless sudo: run 'sudo apt-get install -y ${missing[*]}' and then make test again."
    fi
    echo "ensure-test-services: installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || fail "apt-get update failed; cannot install ${missing[*]}."
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || fail "apt-get install ${missing[*]} failed."
fi

command -v redis-server >/dev/null || fail "redis-server is not on PATH although its package is installed."
command -v redis-cli >/dev/null || fail "redis-cli is not on PATH (Debian package redis-tools)."

# At most 2 s: a program on the port that takes the connection and never answers would
# otherwise hold the run for ever (review r28a).
redis_cli() { timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" "$@" 2>/dev/null; }
redis_answers() { [ "$(redis_cli ping)" = "PONG" ]; }
# The pid of the Redis answering on the port, to tell whether it is the one started here.
answering_pid() { redis_cli info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p'; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_dir=""
redis_pid=""
starting=""
stop_redis() {
    # Stopped while Redis was starting: its daemon writes its pidfile once it has started,
    # after the command that started it has returned (review r28f). Not where it failed to
    # start: no pidfile will come (review r28g).
    if [ -z "$redis_pid" ] && [ -n "$starting" ]; then
        for _ in $(seq 1 50); do
            [ -s "$run_dir/redis.pid" ] && break
            sleep 0.1
        done
        redis_pid="$(cat "$run_dir/redis.pid" 2>/dev/null || true)"
    fi
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill "$redis_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    [ -z "$run_dir" ] || rm -rf "$run_dir"
}

if [ -n "${REDIS_TEST_PORT:-}" ] && redis_answers; then
    echo "ensure-test-services: using the Redis already answering on 127.0.0.1:$REDIS_TEST_PORT"
else
    REDIS_TEST_PORT="${REDIS_TEST_PORT:-6379}"
    if port_taken "$REDIS_TEST_PORT"; then
        taken="$REDIS_TEST_PORT"
        REDIS_TEST_PORT="$(free_port)" || fail "cannot find a free port for redis-server."
        echo "ensure-test-services: port $taken is taken; starting redis-server on $REDIS_TEST_PORT instead"
    fi
    run_dir="$(mktemp -d "${TMPDIR:-/tmp}/baltmet-test-redis.XXXXXX")"
    trap stop_redis EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    starting=1
    redis-server --bind 127.0.0.1 --port "$REDIS_TEST_PORT" --daemonize yes \
        --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log" --dir "$run_dir" \
        --save "" --appendonly no \
        || { starting=""; fail "redis-server did not start on 127.0.0.1:$REDIS_TEST_PORT."; }
    for _ in $(seq 1 50); do
        [ -s "$run_dir/redis.pid" ] && redis_answers && break
        sleep 0.1
    done
    [ -s "$run_dir/redis.pid" ] && redis_pid="$(cat "$run_dir/redis.pid")"
    starting=""
    if ! redis_answers; then
        cat "$run_dir/redis.log" >&2 2>/dev/null || true
        fail "redis-server does not answer on 127.0.0.1:$REDIS_TEST_PORT (is the port taken by something else?)."
    fi
    # Another Redis that took the port after it was found free (a second test run starting
    # at the same moment) answers too, while ours could not listen: the run would use one
    # that another run stops midway (review r28a).
    if [ -z "$redis_pid" ] || [ "$(answering_pid)" != "$redis_pid" ]; then
        cat "$run_dir/redis.log" >&2 2>/dev/null || true
        fail "redis-server did not start on 127.0.0.1:$REDIS_TEST_PORT: another program took the port meanwhile; run again."
    fi
    echo "ensure-test-services: started redis-server on 127.0.0.1:$REDIS_TEST_PORT (pid $redis_pid)"
fi

export REDIS_TEST_URL="redis://127.0.0.1:$REDIS_TEST_PORT"
# The command runs in the background, so that a TERM or HUP sent to this script alone (make
# stopped, a CI step's time limit) is passed on at once; in the foreground, bash would run the
# trap only once the command had ended by itself (review r28a). It is passed on as an INT,
# the Ctrl-C pytest stops on in order: a TERM would end its main process alone, and its
# pytest-xdist workers would run on past this script and its Redis (review r28c). A command
# simply put in the background ignores Ctrl-C and reads an empty stdin: the subshell, its
# `trap -` and the redirection give both back. Ctrl-C reaches the command from the terminal,
# as it reaches this script, which waits for the command to finish.
# The command is known by $!, which bash sets as it starts it (no other command of this script
# runs in the background): a signal between that and the next line found no pid, and ended
# the script with the command running. Only the first signal is passed on: a second Ctrl-C
# cuts pytest's orderly stop short, its workers left running (review r28e). And the script
# fails after one, whatever the command's status.
# A signal the moment the command starts is sent once it stops ignoring Ctrl-C, which bash
# has a background command do until it runs (review r28f). ${!:-}: `set -u`.
signalled=""
ignores_ctrl_c() {
    local ignored
    ignored="$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)" || return 1
    [ -n "$ignored" ] && (( (16#$ignored >> 1) & 1 ))
}
pass_on() {
    [ -n "${!:-}" ] || exit "$1"
    if [ -z "$signalled" ]; then
        for _ in $(seq 1 50); do
            ignores_ctrl_c "$!" || break
            sleep 0.02
        done
        kill -INT "$!" 2>/dev/null || true
    fi
    signalled="$1"
}
trap 'pass_on 143' TERM
trap 'pass_on 129' HUP
trap '[ -n "${!:-}" ] || exit 130' INT
( trap - INT QUIT; exec "$@" ) <&0 &
command_pid=$!
waited=0
while kill -0 "$command_pid" 2>/dev/null; do  # a signal's trap ends a wait, not the command
    waited=0
    wait "$command_pid" || waited=$?
done
# The command's own status, which bash keeps for a later wait: a trap may have ended the last
# wait as the command ended, and its 143 was taken for the command's. Where bash lost it (a
# signal to the whole group, as Ctrl-C in a terminal, interrupting that wait: -1, review r29h),
# the last wait's: 128 and the signal, right where the command died of it; a command that
# handled it (pytest exits 2 on Ctrl-C) is then reported as 130 or 143, a failure all the same
# (review r29i: 1 to 2 times in 20).
status=0
wait "$command_pid" || status=$?
[ "$status" -ge 0 ] && [ "$status" -le 255 ] || status="$waited"
[ -z "$signalled" ] || [ "$status" != 0 ] || status="$signalled"
exit "$status"
