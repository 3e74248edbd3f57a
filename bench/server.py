"""The processes the bench starts: the latency proxy and the app under gunicorn.

Each runs in its own process group, so stopping it also stops its children
(gunicorn's workers); ``Processes.stop_all`` runs on every exit path.
"""

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import BENCH_DIR, ROOT_DIR, STATIC_ROOT, WORK_DIR


def free_port(start: int, host: str = "127.0.0.1") -> int:
    """The first port from ``start`` that nothing listens on."""
    for port in range(start, start + 200):
        with socket.socket() as sock:
            # As gunicorn and asyncio bind: a port whose last connections
            # linger in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {start}")


class Processes:
    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict, log: Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("ab")
        process = subprocess.Popen(
            args,
            cwd=ROOT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.running[name] = process
        return process

    def stop(self, name: str, timeout: float = 10) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def base_env() -> dict:
    """The environment every bench process starts from."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT_DIR), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def app_env(settings: str, database_url: str, port: int | None = None) -> dict:
    """The Procfile's environment, as a production deployment would set it."""
    env = base_env()
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-" + "x" * 32,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        # A .env file in the project root must not redirect the bench.
        DATABASE_URL_DIRECT="",
        OPENSSL_CONF=str(BENCH_DIR / "openssl.cnf"),
    )
    if port is not None:
        env["PORT"] = str(port)
    return env


def _static_fingerprint() -> str:
    """What the collected files depend on: every source file's path, size, time."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256(repr(settings.STORAGES["staticfiles"]).encode())
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def collectstatic(env: dict) -> bool:
    """Collect the static files unless they are up to date; True if it ran."""
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    stamp = STATIC_ROOT / ".bench-fingerprint"
    fingerprint = _static_fingerprint()
    manifest = STATIC_ROOT / "staticfiles.json"
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"collectstatic failed:\n{result.stderr[-3000:]}")
    stamp.write_text(fingerprint)
    return True


def wait_http(url: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{url} did not come up ({last}); log {log}:\n{tail}")


def start_proxy(
    processes: Processes, name: str, port: int, control: int, upstream: str
):
    log = WORK_DIR / "logs" / f"proxy-{name}.log"
    log.unlink(missing_ok=True)
    process = processes.start(
        f"proxy-{name}",
        [
            sys.executable,
            "-m",
            "tests.support.latency_proxy",
            "--listen",
            f"127.0.0.1:{port}",
            "--control",
            f"127.0.0.1:{control}",
            "--upstream",
            upstream,
        ],
        base_env(),
        log,
    )
    wait_http(f"http://127.0.0.1:{control}/stats", 15, process, log)


def start_app(processes: Processes, config: str, env: dict, port: int) -> None:
    log = WORK_DIR / "logs" / f"gunicorn-{config}.log"
    log.unlink(missing_ok=True)
    process = processes.start(
        f"app-{config}",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "todoproject.wsgi",
            "--config",
            "gunicorn.conf.py",
        ],
        env,
        log,
    )
    wait_http(f"http://127.0.0.1:{port}/health/db", 60, process, log)


def app_problems(config: str, workers: int) -> list[str]:
    """What gunicorn's log says went wrong: workers that died or hung."""
    log = WORK_DIR / "logs" / f"gunicorn-{config}.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    problems = []
    restarts = text.count("Booting worker") - workers
    if restarts > 0:
        problems.append(f"{config}: gunicorn restarted {restarts} worker(s); see {log}")
    if "WORKER TIMEOUT" in text:
        problems.append(f"{config}: a gunicorn worker timed out; see {log}")
    return problems


def proxy_stats(control_url: str, connections: bool = False) -> dict:
    url = f"{control_url}/stats" + ("?connections=1" if connections else "")
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310
        return json.load(r)


def set_delay(control_url: str, rtt_ms: float) -> None:
    request = urllib.request.Request(  # noqa: S310
        f"{control_url}/delay?rtt_ms={rtt_ms}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
