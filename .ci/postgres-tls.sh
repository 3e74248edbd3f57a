#!/usr/bin/env bash
# Make sure the machine's PostgreSQL cluster is up and speaks TLS.
#
# The app is built for Neon, where every connection must be TLS
# (sslmode=require); testing on a plain-text server would not catch a
# setting that breaks that. The machine's Debian cluster is used as it is
# (trust auth on 127.0.0.1); only `ssl` is turned on, with a self-signed
# certificate, through ALTER SYSTEM and a reload, which neither restarts the
# server nor drops anyone's connections.
#
# Env: CI_PG_PORT (default 5432).
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port=${CI_PG_PORT:-5432}
host=127.0.0.1

# The cluster configured for that port; pg_lsclusters reads the configuration,
# so it answers with the server down too.
read -r version name < <(
    pg_lsclusters --no-header | awk -v p="$port" '$3 == p {print $1, $2; exit}'
) || ci_die "no PostgreSQL cluster is configured for port $port (pg_lsclusters)"

# Under the cluster's configuration directory rather than the data directory:
# it is configuration, and a restored or re-initialised data directory would
# lose it while ALTER SYSTEM still pointed at it.
tls_dir=/etc/postgresql/$version/$name/ci-tls
# Before any start: if an earlier run turned ssl on and the files have gone
# since, the server would refuse to start without them.
ci_self_signed_cert "$tls_dir" postgres

if ! pg_isready -q -h "$host" -p "$port"; then
    ci_log "PostgreSQL $version/$name is down; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
    ci_retry 60 pg_isready -h "$host" -p "$port" ||
        ci_die "PostgreSQL did not become ready on $host:$port"
fi

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres -Atc "$1"; }

if [[ $(psql_admin 'show ssl') != on ]]; then
    ci_log "turning TLS on for PostgreSQL $version/$name"
    psql_admin "ALTER SYSTEM SET ssl_cert_file = '$tls_dir/server.crt'"
    psql_admin "ALTER SYSTEM SET ssl_key_file = '$tls_dir/server.key'"
    psql_admin "ALTER SYSTEM SET ssl = on"
    psql_admin "SELECT pg_reload_conf()" >/dev/null
fi

# The reload is asynchronous, and a bad certificate only shows in the server
# log (ssl stays off), so the proof is a connection that demands TLS.
tls_url="postgresql://postgres@$host:$port/postgres?sslmode=require"
if ! ci_retry 20 psql -X -d "$tls_url" -Atc 'select 1'; then
    psql -X -d "$tls_url" -c 'select 1' || true
    ci_die "PostgreSQL on $host:$port does not accept TLS connections; see /var/log/postgresql/postgresql-$version-$name.log"
fi

# CI alone opens a handful of connections per pytest leg (plus PgBouncer's
# pool); other users of the machine share the server, hence the margin.
max_connections=$(psql_admin 'show max_connections')
if ((max_connections < 50)); then
    ci_die "max_connections is $max_connections; the test runs need at least 50"
fi
ci_log "PostgreSQL $version/$name on $host:$port: TLS on, max_connections=$max_connections"
