#!/usr/bin/env bash
# Two app instances behind a load balancer, on this machine, for the
# scale-out tests (tests/test_scale_out.py) and the load run (bench/scale-out):
#
#   client ──HTTPS──▶ HAProxy 127.0.0.1:8100 ──HTTP──▶ gunicorn 127.0.0.1:8101
#                     round robin, no stickiness,  └──▶ gunicorn 127.0.0.1:8102
#                     health checks on /health/db        │ both:
#                                                        ▼
#                     PgBouncer 127.0.0.1:6433 (transaction mode, TLS) ──▶ PostgreSQL
#
# Both instances run the Procfile's command with production settings (DEBUG
# off, one SECRET_KEY, ALLOWED_HOSTS (with testserver, the host the tests
# sent through the balancer name), behind a proxy that terminates TLS),
# on the database todo_scale, migrated. HAProxy answers each response with
# X-Served-By naming the instance, so the tests can see both answered.
#
#   .ci/scale-out.sh start   start everything, or keep what is already up
#   .ci/scale-out.sh stop    stop what this script started (pidfiles); the
#                            database stays, for the next start
#   .ci/scale-out.sh status  exit 0 if HAProxy and both instances answer
#
# Env: SCALE_OUT_DIR (state: config, pidfiles, logs, the SECRET_KEY;
# /tmp/todo-scale-out), SCALE_OUT_DB (todo_scale), SCALE_OUT_PGBOUNCER_PORT
# (6433: not CI's 6432, whose PGBOUNCER_PORT .ci/run exports), PGBOUNCER_POOL_SIZE
# (20: 2 instances x 2 workers x 4 threads fit in it), and the app's own: WEB_CONCURRENCY, GUNICORN_THREADS,
# GUNICORN_KEEPALIVE, DATABASE_POOL_SIZE, LOG_LEVEL (INFO: the balancer leg
# of the tests reads the request log for its query counts). Mail is written
# to files in $SCALE_OUT_DIR/mail, which that leg reads as the outbox.
# SCALE_OUT_REPLICA_URL (unset: no replica): a read replica's server, e.g.
# postgresql://postgres@127.0.0.1:5433 (.ci/replica.sh); the instances read
# $db there (DATABASE_URL_REPLICA). `start` keeps running instances only if
# they were started with the same replica, or none.
# Clients: https://127.0.0.1:8100 (a self-signed certificate,
# $SCALE_OUT_DIR/tls/server.crt); HAProxy's statistics, as CSV:
# http://127.0.0.1:8109/;csv
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
source .ci/lib.sh

dir=${SCALE_OUT_DIR:-/tmp/todo-scale-out}
db=${SCALE_OUT_DB:-todo_scale}
[[ $db == todo_scale* ]] || ci_die "SCALE_OUT_DB must start with todo_scale"
export PGBOUNCER_PORT=${SCALE_OUT_PGBOUNCER_PORT:-6433}
export PGBOUNCER_POOL_SIZE=${PGBOUNCER_POOL_SIZE:-20}
[[ $PGBOUNCER_PORT != 6432 ]] || ci_die "PgBouncer 6432 is CI's; use another port"
balancer_port=8100
stats_port=8109
app_ports=(8101 8102)
admin_url=postgresql://postgres@127.0.0.1:5432/postgres
python=${PYTHON:-.venv/bin/python}

# What the instances share: everything but the port.
app_env() {
    local secret
    secret=$(cat "$dir/secret_key")
    env SECRET_KEY="$secret" DEBUG=false \
        ALLOWED_HOSTS=127.0.0.1,localhost,testserver \
        CSRF_TRUSTED_ORIGINS="https://127.0.0.1:$balancer_port,https://localhost:$balancer_port" \
        SECURE_PROXY_SSL_HEADER=true \
        DATABASE_URL="postgresql://postgres@127.0.0.1:$PGBOUNCER_PORT/$db?sslmode=require" \
        DATABASE_URL_DIRECT="postgresql://postgres@127.0.0.1:5432/$db?sslmode=require" \
        LOG_LEVEL="${LOG_LEVEL:-INFO}" \
        EMAIL_URL="filemail:///$dir/mail" \
        ${SCALE_OUT_REPLICA_URL:+DATABASE_URL_REPLICA="$SCALE_OUT_REPLICA_URL/$db?sslmode=require"} \
        "$@"
}

haproxy_config() {
    cat <<EOF
# Written by .ci/scale-out.sh; rewritten on every start.
global
    pidfile $dir/haproxy.pid
    maxconn 2000
    # The local certificate is 2048-bit RSA, self-signed.
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # Idle keep-alive, on both sides: the client's connection, and the
    # balancer's idle connections to the instances. Gunicorn's keepalive
    # must be longer (README, "Running more than one instance").
    timeout http-keep-alive 10s

frontend app
    bind 127.0.0.1:$balancer_port ssl crt $dir/tls/haproxy.pem
    http-request set-header X-Forwarded-Proto https
    # For the tests run through the balancer (tests/support/balancer.py), not
    # for production: the client address a test names stands for the
    # connection's, so it is the one X-Forwarded-For ends with.
    http-request set-src req.hdr(x-test-client) if { req.hdr(x-test-client) -m found }
    default_backend instances

backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health/db ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server check inter 2s fall 2 rise 1
    # For the scale-out tests, not for production: which instance answered,
    # and a request may name the one it wants (X-Test-Instance: app8101), so
    # a test can write on one instance and read on the other. Every other
    # request goes round robin.
    http-response set-header X-Served-By %[srv_name]
$(for port in "${app_ports[@]}"; do
        echo "    use-server app$port if { req.hdr(x-test-instance) -m str app$port }"
    done)
$(for port in "${app_ports[@]}"; do echo "    server app$port 127.0.0.1:$port"; done)
    # When every instance fails its check, the database is away for all of
    # them: the same instances, unchecked, still answer, with the app's own
    # 503 page rather than the balancer's. An instance that alone cannot
    # reach the database is still taken out while the others can.
    option allbackups
$(for port in "${app_ports[@]}"; do
        echo "    server app$port-fallback 127.0.0.1:$port backup no-check"
    done)

listen stats
    bind 127.0.0.1:$stats_port
    stats enable
    stats uri /
EOF
}

# The pid in FILE if it is still a live process whose command line has WORD.
live_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    echo "$pid"
}

# Both instances UP in HAProxy's own view, and a request through it answers.
healthy() {
    local up
    up=$(curl -fsS "http://127.0.0.1:$stats_port/;csv" 2>/dev/null |
        awk -F, '$1 == "instances" && $2 ~ /^app/ && $18 == "UP"' | wc -l)
    ((up == ${#app_ports[@]})) &&
        curl -fsS --cacert "$dir/tls/server.crt" -o /dev/null \
            "https://127.0.0.1:$balancer_port/health/db"
}

install_haproxy() {
    command -v haproxy >/dev/null && return 0
    ci_log "installing haproxy"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy; }
    # Debian's own service, where the machine lets packages start services,
    # holds port 80 with the package's configuration; this script runs its own.
    /etc/init.d/haproxy stop >/dev/null 2>&1 || true
}

# Both instances run this checkout's code (not another worktree's).
this_checkout() {
    local port pid
    for port in "${app_ports[@]}"; do
        pid=$(live_pid "$dir/app$port.pid" gunicorn) || return 1
        [[ $(readlink "/proc/$pid/cwd") == "$PWD" ]] || return 1
    done
}

start() {
    install -d -m 700 "$dir"
    if healthy 2>/dev/null && this_checkout && bash .ci/pgbouncer.sh status &&
        [[ $(cat "$dir/replica" 2>/dev/null) == "${SCALE_OUT_REPLICA_URL:-}" ]]; then
        ci_log "already running: https://127.0.0.1:$balancer_port"
        return 0
    fi
    stop
    install_haproxy
    for tool in haproxy curl psql openssl; do
        command -v "$tool" >/dev/null || ci_die "$tool is not installed"
    done
    for port in "$balancer_port" "$stats_port" "${app_ports[@]}"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            ci_die "port $port is taken by a process this script did not start"
        fi
    done

    bash .ci/postgres-tls.sh
    bash .ci/pgbouncer.sh start

    # One SECRET_KEY for every instance, kept across restarts: sessions,
    # messages and signed links made by one must be read by the other.
    if [[ ! -s $dir/secret_key ]]; then
        (umask 077 && openssl rand -base64 48 | tr -d '\n=+/' >"$dir/secret_key")
    fi

    if [[ -z $(psql -X -d "$admin_url" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
        psql -X -q -d "$admin_url" -c "CREATE DATABASE \"$db\""
    fi
    app_env "$python" manage.py migrate --no-input -v 0
    app_env "$python" manage.py collectstatic --no-input -v 0

    echo "${SCALE_OUT_REPLICA_URL:-}" >"$dir/replica"
    for port in "${app_ports[@]}"; do
        # The Procfile's web command, as it is; each instance with a control
        # socket of its own (by default every gunicorn of a user shares one).
        PORT=$port XDG_RUNTIME_DIR=$dir/app$port app_env \
            setsid "$python" -m gunicorn todoproject.wsgi --config gunicorn.conf.py \
            --pid "$dir/app$port.pid" >"$dir/app$port.log" 2>&1 </dev/null &
    done
    for port in "${app_ports[@]}"; do
        ci_retry 60 curl -fsS -o /dev/null "http://127.0.0.1:$port/health/db" || {
            tail -n 30 "$dir/app$port.log" >&2
            ci_die "the instance on 127.0.0.1:$port did not become healthy"
        }
    done

    ci_self_signed_cert "$dir/tls" root
    cat "$dir/tls/server.crt" "$dir/tls/server.key" >"$dir/tls/haproxy.pem"
    chmod 600 "$dir/tls/haproxy.pem"
    haproxy_config >"$dir/haproxy.cfg"
    haproxy -c -q -f "$dir/haproxy.cfg" || ci_die "HAProxy refused $dir/haproxy.cfg"
    haproxy -D -f "$dir/haproxy.cfg" || ci_die "HAProxy did not start"
    ci_retry 30 healthy || {
        curl -sS "http://127.0.0.1:$stats_port/;csv" >&2 || true
        ci_die "HAProxy does not see both instances up"
    }
    ci_log "HAProxy on https://127.0.0.1:$balancer_port, round robin over" \
        "${app_ports[*]/#/127.0.0.1:}; database $db through PgBouncer on $PGBOUNCER_PORT"
}

# TERM, then wait for the process to go (gunicorn finishes its requests).
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop() {
    local pid port
    if pid=$(live_pid "$dir/haproxy.pid" haproxy); then
        stop_pid "$pid"
        ci_log "HAProxy (pid $pid) stopped"
    fi
    rm -f "$dir/haproxy.pid"
    for port in "${app_ports[@]}"; do
        if pid=$(live_pid "$dir/app$port.pid" gunicorn); then
            stop_pid "$pid"
            ci_log "instance on 127.0.0.1:$port (pid $pid) stopped"
        fi
        rm -f "$dir/app$port.pid"
    done
    bash .ci/pgbouncer.sh stop
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) healthy ;;
*) ci_die "usage: $0 start|stop|status" ;;
esac
