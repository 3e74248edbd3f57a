"""Start-up: a missing or bad setting stops gunicorn, not a loop of workers."""

import subprocess
import sys

import pytest

from tests.test_security import ROOT, production_env

GIVE_UP_AFTER = 30  # seconds: the contract's limit


def start_gunicorn(**env) -> subprocess.CompletedProcess:
    """Run the Procfile's gunicorn with ``env``; fails if it is still up after
    the contract's 30 seconds (that is, its workers crash in a loop)."""
    environment = {k: v for k, v in production_env(**env).items() if v is not None}
    try:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "todoproject.wsgi",
                "-c",
                "gunicorn.conf.py",
                "-b",
                "127.0.0.1:0",
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=GIVE_UP_AFTER,
        )
    except subprocess.TimeoutExpired as running:
        pytest.fail(
            f"gunicorn still running after {GIVE_UP_AFTER} s:\n"
            + (running.stderr or b"").decode(errors="replace")[-2000:]
        )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE must be a number"),
    ],
    ids=["no SECRET_KEY", "bad DATABASE_POOL_SIZE"],
)
def test_a_bad_setting_stops_gunicorn_with_one_line_naming_it(env, message):
    result = start_gunicorn(**env)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if "Configuration error" in line]
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {message}")
    assert "Traceback" not in output
    # Stopped before any worker was started.
    assert "Booting worker" not in output
