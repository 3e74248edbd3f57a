"""Argon2, sized for a web server that checks passwords on shared cores."""

from django.contrib.auth import hashers


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """OWASP's Argon2id baseline: 19 MiB of memory, 2 passes, 1 lane.

    Django's defaults (100 MiB, 8 lanes) cost about half a CPU-second per
    check on a 2-core machine, so a few dozen simultaneous logins (a spray
    over many usernames passes the per-username lock) queued every other
    request behind them for seconds. This costs about 30 ms; see
    bench/results/login-flood.md. The algorithm name stays "argon2", so the
    hashes Django's parameters made are still read, and Django re-hashes
    each one with these on its owner's next successful login (must_update).
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
