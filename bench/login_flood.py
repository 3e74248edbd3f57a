"""Login flood: does a signed-in user's task list stay fast during a login spray?

Starts the app as the Procfile does (gunicorn.conf.py's defaults, DEBUG=false,
PostgreSQL) behind a pretend proxy (SECURE_PROXY_SSL_HEADER=true). For
--seconds, --clients threads POST wrong passwords to the login page, each from
a fresh X-Forwarded-For address and for one of 2,000 usernames (half exist):
a botnet's spray, which neither lock stops, so every attempt costs a password
hash. Meanwhile one signed-in user GETs /tasks/ in a loop. Standalone on
purpose: it shares nothing with the rest of bench/.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import requests

TIMEOUT = 60  # seconds; a request queued longer than that has failed anyway
PASSWORD = "flood-user-passphrase-1"  # noqa: S105 - a throwaway bench account
SETUP = """
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from tasks.models import Task
User = get_user_model()
user = User.objects.create_user("reader", password=%r)
Task.objects.for_user(user).bulk_create(Task(title=f"Task {n}") for n in range(50))
spray = make_password("not-the-password")  # one hash, made by the app's hasher
User.objects.bulk_create([User(username=f"target{n}", password=spray)
                          for n in range(1000)])
"""


def recreate(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def send(method: str, url: str, address: str, cookie: str = "", **kwargs):
    """A request as the proxy passes it on: with the scheme and the address
    it saw. Cookies are Secure, so they are carried by hand over plain HTTP."""
    origin = "https://" + url.split("/")[2]
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": address}
    headers |= {"Origin": origin, "Cookie": cookie}
    session = kwargs.pop("session", requests)
    return session.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)


def log_in(base: str, csrf: str, username: str, password: str, address: str, **kw):
    form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
    url, cookie = f"{base}/accounts/login/", f"csrftoken={csrf}"
    return send("POST", url, address, cookie, data=form, allow_redirects=False, **kw)


def sign_in(base: str) -> tuple[str, str]:
    """A CSRF token, and the reader's session cookie from a real login."""
    csrf = send("GET", f"{base}/accounts/login/", "10.0.0.1").cookies["csrftoken"]
    response = log_in(base, csrf, "reader", PASSWORD, "10.0.0.1")
    assert response.status_code == 302, response.status_code
    return csrf, f"sessionid={response.cookies['sessionid']}"


def flood(base: str, csrf: str, deadline: float, statuses: Counter) -> None:
    session = requests.Session()
    while time.monotonic() < deadline:
        address = ".".join(str(random.randint(1, 254)) for _ in range(4))
        username = f"target{random.randrange(2000)}"
        response = log_in(base, csrf, username, "wrong", address, session=session)
        statuses[response.status_code] += 1


def read(base: str, cookie: str, until: float) -> str:
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        response = send("GET", f"{base}/tasks/", "10.0.0.1", cookie)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        time.sleep(0.1)
    p50, p95 = (
        statistics.quantiles(latencies, n=100, method="inclusive")[i] for i in (49, 94)
    )
    return (
        f"{len(latencies)} GET /tasks/: p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="dropped, recreated")
    parser.add_argument("--app-dir", default=str(Path(__file__).parent.parent))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    env = os.environ | {"DATABASE_URL": args.database_url, "PORT": str(args.port)}
    env |= {"SECRET_KEY": "bench-" + "x" * 50, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    env |= {"ALLOWED_HOSTS": "127.0.0.1", "SECURE_PROXY_SSL_HEADER": "true"}
    recreate(args.database_url)
    manage, run = [sys.executable, "manage.py"], {"cwd": args.app_dir, "env": env}
    subprocess.run([*manage, "migrate", "-v0"], check=True, **run)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True, **run)
    subprocess.run([*manage, "shell", "-c", SETUP % PASSWORD], check=True, **run)
    gunicorn = ["-m", "gunicorn", "todoproject.wsgi", "-c", "gunicorn.conf.py"]
    server = subprocess.Popen([sys.executable, *gunicorn], **run)
    try:
        for _ in range(100):  # until gunicorn listens
            try:
                requests.get(base, timeout=5, allow_redirects=False)
                break
            except requests.RequestException:
                time.sleep(0.3)
        csrf, cookie = sign_in(base)
        print("idle:", read(base, cookie, time.monotonic() + 5))
        deadline = time.monotonic() + args.seconds
        statuses: Counter = Counter()
        threads = [
            threading.Thread(target=flood, args=(base, csrf, deadline, statuses))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        print(f"{args.clients} clients flooding:", read(base, cookie, deadline))
        for thread in threads:
            thread.join()
        rate = sum(statuses.values()) / args.seconds
        print(f"flood: {rate:.1f} failed logins/s, statuses {dict(statuses)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
