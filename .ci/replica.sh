#!/usr/bin/env bash
# A real streaming replica of the CI primary, for the read-replica tests.
#
#   .ci/replica.sh start   make it (once) and start it; quick when it runs
#   .ci/replica.sh stop    stop it and delete it (its cluster and data)
#   .ci/replica.sh down    stop its server, keeping it (a replica gone away)
#   .ci/replica.sh up      start it again after `down`
#
# A second PostgreSQL cluster (Debian's pg_createcluster, as user postgres) on
# 127.0.0.1:$CI_REPLICA_PORT, copied from the primary with `pg_basebackup -R`
# (which writes standby.signal and primary_conninfo), in hot standby, applying
# the primary's changes only after recovery_min_apply_delay: so the tests see
# a lag they can count on, where a replica that is usually a millisecond
# behind would hide a read that should have gone to the primary. It inherits
# the primary's TLS settings, so it speaks TLS as Neon does.
#
# Env: CI_PG_PORT (the primary, default 5432), CI_REPLICA_PORT (default 5433),
# CI_REPLICA_DELAY (default 2s).
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

primary_port=${CI_PG_PORT:-5432}
port=${CI_REPLICA_PORT:-5433}
delay=${CI_REPLICA_DELAY:-2s}
host=127.0.0.1
name=ci_replica

read -r version primary < <(
    pg_lsclusters --no-header | awk -v p="$primary_port" '$3 == p {print $1, $2; exit}'
) || ci_die "no PostgreSQL cluster is configured for port $primary_port (pg_lsclusters)"

exists() { pg_lsclusters --no-header | awk -v n="$name" -v v="$version" '$1 == v && $2 == n {f = 1} END {exit !f}'; }
drop() {
    server_down
    pg_dropcluster "$version" "$name" 2>/dev/null || true
    # pg_dropcluster leaves files it did not write (our conf.d file).
    rm -rf "/etc/postgresql/$version/$name" "/var/lib/postgresql/$version/$name"
}
ctl() { pg_ctlcluster --skip-systemctl-redirect "$version" "$1" "${@:2}"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$1" -U postgres -d postgres -Atc "$2"; }

server_up() {
    if ! pg_isready -q -h "$host" -p "$port"; then
        ctl "$name" start
        ci_retry 60 pg_isready -h "$host" -p "$port" ||
            ci_die "the replica did not become ready on $host:$port; see /var/log/postgresql/postgresql-$version-$name.log"
    fi
}

server_down() {
    if exists && pg_isready -q -h "$host" -p "$port"; then
        ctl "$name" stop -m fast
    fi
}

create() {
    if ! pg_isready -q -h "$host" -p "$primary_port"; then
        ci_log "PostgreSQL $version/$primary is down; starting it"
        ctl "$primary" start
        ci_retry 60 pg_isready -h "$host" -p "$primary_port" ||
            ci_die "PostgreSQL did not become ready on $host:$primary_port"
    fi
    # pg_basebackup connects for replication, which "all" in pg_hba.conf
    # does not cover. The line stays: it trusts what the primary's other
    # 127.0.0.1 line already trusts.
    local hba
    hba=$(sql "$primary_port" 'show hba_file')
    if ! grep -Eq "^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust" "$hba"; then
        ci_log "allowing replication connections from $host in $hba"
        printf '%s\n' "host replication all 127.0.0.1/32 trust" >>"$hba"
        sql "$primary_port" 'SELECT pg_reload_conf()' >/dev/null
        sleep 1
    fi

    ci_log "creating the replica $version/$name on $host:$port"
    rm -rf "/etc/postgresql/$version/$name" "/var/lib/postgresql/$version/$name"
    pg_createcluster -p "$port" "$version" "$name" >/dev/null
    local data=/var/lib/postgresql/$version/$name
    find "$data" -mindepth 1 -delete
    runuser -u postgres -- pg_basebackup -h "$host" -p "$primary_port" -U postgres \
        -D "$data" -R -X stream -c fast
    # A hot standby refuses to start with fewer of these than its primary.
    local setting conf=/etc/postgresql/$version/$name/conf.d/ci-replica.conf
    {
        echo "hot_standby = on"
        echo "recovery_min_apply_delay = '$delay'"
        for setting in max_connections max_worker_processes max_wal_senders \
            max_prepared_transactions max_locks_per_transaction; do
            echo "$setting = $(sql "$primary_port" "show $setting")"
        done
    } >"$conf"
    chown postgres: "$conf"
    # Who may connect: as on the primary (pg_createcluster wrote its own).
    install -o postgres -g postgres -m 640 "$hba" "/etc/postgresql/$version/$name/pg_hba.conf"
}

case ${1:-} in
start)
    if exists && [[ ! -e /var/lib/postgresql/$version/$name/standby.signal ]]; then
        ci_log "$version/$name is not a standby (a broken earlier run?); making it again"
        drop
    fi
    exists || create
    server_up
    [[ $(sql "$port" 'SELECT pg_is_in_recovery()') == t ]] ||
        ci_die "$host:$port is not in recovery: not a replica"
    ci_log "replica $version/$name on $host:$port: streaming from $primary_port, apply delay $delay"
    ;;
stop)
    if exists || [[ -e /etc/postgresql/$version/$name ]]; then
        drop
        ci_log "replica $version/$name stopped and deleted"
    fi
    ;;
down)
    server_down
    ;;
up)
    exists || ci_die "no replica to start: run .ci/replica.sh start"
    server_up
    ;;
*)
    ci_die "usage: .ci/replica.sh start|stop|down|up"
    ;;
esac
