#!/usr/bin/env bash
# A private PgBouncer in front of the local PostgreSQL, shaped like Neon's
# "-pooler" endpoint: transaction pooling, a small pool, TLS required from
# clients. It is not Debian's pgbouncer service, whose configuration belongs
# to the machine.
#
#   .ci/pgbouncer.sh start    start it, or keep the one already running with
#                             the same settings (so tests and the benchmark
#                             can call this freely)
#   .ci/pgbouncer.sh stop     stop the one this script started (pidfile)
#   .ci/pgbouncer.sh restart  stop, then start
#   .ci/pgbouncer.sh status   exit 0 if it is running
#
# Settings, from the environment:
#   PGBOUNCER_PORT                 listen port on 127.0.0.1        (6432)
#   PGBOUNCER_POOL_SIZE            server connections per db/user  (5)
#   PGBOUNCER_MAX_CLIENT_CONN      client connections              (200)
#   PGBOUNCER_POOL_MODE            transaction|session|statement   (transaction)
#   PGBOUNCER_SERVER_IDLE_TIMEOUT  seconds before an idle server
#                                  connection is closed            (1)
#   PGBOUNCER_SERVER_PORT          PostgreSQL port on 127.0.0.1    (5432)
#   PGBOUNCER_DIR                  config, TLS files, log, pidfile
#                                  (/tmp/todo-ci-pgbouncer, plus -PORT for a
#                                  port other than 6432)
# Clients connect with
#   postgresql://postgres@127.0.0.1:$PGBOUNCER_PORT/DBNAME?sslmode=require
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port=${PGBOUNCER_PORT:-6432}
pool_size=${PGBOUNCER_POOL_SIZE:-5}
max_client_conn=${PGBOUNCER_MAX_CLIENT_CONN:-200}
pool_mode=${PGBOUNCER_POOL_MODE:-transaction}
server_idle_timeout=${PGBOUNCER_SERVER_IDLE_TIMEOUT:-1}
server_port=${PGBOUNCER_SERVER_PORT:-5432}
if [[ $port == 6432 ]]; then
    default_dir=/tmp/todo-ci-pgbouncer
else
    default_dir=/tmp/todo-ci-pgbouncer-$port
fi
dir=${PGBOUNCER_DIR:-$default_dir}
# PgBouncer will not run as root; the machine's PostgreSQL user is there anyway.
run_as=postgres

ini=$dir/pgbouncer.ini
pidfile=$dir/pgbouncer.pid
logfile=$dir/pgbouncer.log
url="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=require"

# The pid of the PgBouncer our pidfile names, if that process still is one
# (a stale pidfile may name a pid the system has since given to another).
running_pid() {
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pgbouncer ]] || return 1
    alive "$pid" || return 1
    echo "$pid"
}

# Not gone, and not a zombie that a container's init never reaps.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

config() {
    cat <<EOF
; Written by .ci/pgbouncer.sh; rewritten on every start.
[databases]
; Any database name the client asks for, on the same server: pytest-django
; creates and then uses test_<name>, which no fixed list could know.
* = host=127.0.0.1 port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
; No Unix socket: the default one in /tmp would collide with any other
; PgBouncer or PostgreSQL using the same port number.
unix_socket_dir =
pidfile = $pidfile
logfile = $logfile

pool_mode = $pool_mode
default_pool_size = $pool_size
max_client_conn = $max_client_conn

; Trust, like the local server behind it; the user must still be listed.
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
stats_users = postgres

; Neon's pooler accepts TLS only; so does this one.
client_tls_sslmode = require
client_tls_cert_file = $dir/tls/server.crt
client_tls_key_file = $dir/tls/server.key
; The hop to the local server is not what is under test.
server_tls_sslmode = prefer

; The test suite's own database is dropped at the end of every pytest run,
; over a connection to "postgres" through this same PgBouncer. DROP DATABASE
; fails if any session is still open on it, and after the tests PgBouncer
; still holds its (idle) server connections to test_<name>. PostgreSQL waits
; up to 5 seconds for other sessions to go before giving up, and PgBouncer
; checks for idle connections three times a second, so closing them after
; 1 second idle lets the DROP through. The cost, a reconnect on the local
; machine after a second of idleness, does not matter at this scale.
server_idle_timeout = $server_idle_timeout
EOF
}

start() {
    install -d -m 700 -o "$run_as" "$dir"
    ci_self_signed_cert "$dir/tls" "$run_as"
    printf '"postgres" ""\n' >"$dir/userlist.txt"
    chown "$run_as:" "$dir/userlist.txt"
    chmod 600 "$dir/userlist.txt"

    local new pid
    new=$(config)
    if pid=$(running_pid) && [[ $new == "$(cat "$ini" 2>/dev/null)" ]] &&
        psql -X -d "$url" -Atc 'select 1' >/dev/null 2>&1; then
        ci_log "PgBouncer already running on 127.0.0.1:$port (pid $pid)"
        return 0
    fi
    stop

    # Something else on the port would answer the readiness check below.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        ss -Htlnp "sport = :$port" >&2 2>/dev/null || true
        ci_die "port $port is taken by a process this script did not start"
    fi

    printf '%s\n' "$new" >"$ini"
    chown "$run_as:" "$ini"
    # Each run appends to the log; keep only this run's lines to read.
    : >"$logfile"
    chown "$run_as:" "$logfile"
    runuser -u "$run_as" -- pgbouncer -d -q "$ini" ||
        ci_die "PgBouncer did not start; $logfile says: $(tail -n 20 "$logfile")"

    if ! ci_retry 20 psql -X -d "$url" -Atc 'select 1'; then
        psql -X -d "$url" -c 'select 1' || true
        tail -n 30 "$logfile" >&2 || true
        ci_die "PgBouncer on 127.0.0.1:$port does not answer over TLS"
    fi
    ci_log "PgBouncer on 127.0.0.1:$port (pid $(running_pid)): pool_mode=$pool_mode" \
        "default_pool_size=$pool_size max_client_conn=$max_client_conn"
}

stop() {
    local pid
    pid=$(running_pid) || {
        rm -f "$pidfile"
        return 0
    }
    # SIGTERM: shut down now, closing clients; a CI run is over by then.
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ci_log "PgBouncer on 127.0.0.1:$port (pid $pid) stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
restart)
    stop
    start
    ;;
status) running_pid >/dev/null ;;
*) ci_die "usage: $0 start|stop|restart|status" ;;
esac
