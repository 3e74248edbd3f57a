# shellcheck shell=bash
# Shared helpers for the .ci scripts; sourced, never run.

ci_log() { printf '%s\n' "[ci] $*" >&2; }
ci_die() {
    printf '%s\n' "[ci] ERROR: $*" >&2
    exit 1
}

# ci_self_signed_cert DIR OWNER: DIR/server.crt and DIR/server.key for
# CN=localhost, made once and kept, so a restart or reload that reads them
# again finds the same files. Both PostgreSQL and PgBouncer refuse a key that
# other users can read, and both run as OWNER, so OWNER must own it, mode 600.
ci_self_signed_cert() {
    local dir=$1 owner=$2
    install -d -m 700 -o "$owner" -g "$(id -gn "$owner")" "$dir"
    if [[ ! -s $dir/server.crt || ! -s $dir/server.key ]]; then
        ci_log "generating a self-signed certificate in $dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
            -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
    fi
    chown "$owner:" "$dir/server.crt" "$dir/server.key"
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/server.crt"
}

# ci_retry SECONDS COMMAND...: COMMAND until it succeeds, for at most SECONDS.
ci_retry() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
