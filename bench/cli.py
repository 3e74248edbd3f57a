"""``bench/run``: build the data, start a proxy and an app per configuration,
then for every delay, page and configuration send one-at-a-time requests
(round trips, connections, latency) and run Locust's headless runner on it.
See bench/README.md.
"""

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psutil
import requests

from bench import (
    BENCH_DIR,
    RESULTS_DIR,
    ROOT_DIR,
    WORK_DIR,
    dataset,
    locustfile,
    report,
)
from bench.dataset import BenchSetupError, Sizes
from bench.pages import EXPECTED, KINDS, Browser, steps

PASSWORD = "bench-Passw0rd-for-every-user"  # noqa: S105 - the data set's, public
ROLE_PASSWORD = "todo-bench-role-password"  # noqa: S105 - a local bench role
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))  # as gunicorn.conf.py
THREADS = int(os.environ.get("GUNICORN_THREADS", "4"))
CONFIGS = ["chosen", "naive", "persistent"]
FILL_DELAY_MS = 50
SETTLE_S = 0.025  # for a closing connection's last bytes to reach the proxy

# The defaults, full and --quick; the help text is made from these.
DEFAULTS = {
    "users": (10_000, 1_000, "regular users"),
    "tasks_per_user": (100, 20, "tasks of each regular user"),
    "big_user_tasks": (10_000, 2_000, "tasks of the one big user"),
    "delays": ("0,2,10", "0,10", "simulated round-trip times, ms"),
    "concurrency": (4, 4, "Locust users under load"),
    "seconds": (3.0, 1.0, "seconds of load per page, configuration and delay"),
    "sequential": (20, 5, "one-at-a-time requests per page, configuration, delay"),
    "compare_samples": (40, 20, "one-at-a-time requests of each user, big vs regular"),
    "kinds": (",".join(KINDS), ",".join(KINDS), "pages measured for chosen"),
    "naive_kinds": (",".join(KINDS), "list,toggle,create", "pages measured for naive"),
    "persistent_kinds": (",".join(KINDS), "list", "pages measured for persistent"),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="the small run CI makes (defaults in ())"
    )
    for key, (full, quick, what) in DEFAULTS.items():
        parser.add_argument(
            "--" + key.replace("_", "-"),
            type=type(full),
            help=f"{what}: {full}" + ("" if quick == full else f" ({quick})"),
        )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a superuser connection ($BENCH_ADMIN_URL): %(default)s",
    )
    parser.add_argument(
        "--db-name",
        default=os.environ.get("BENCH_DB_NAME", "todo_bench"),
        help="the bench's database and role, dropped and made afresh "
        "($BENCH_DB_NAME): %(default)s",
    )
    parser.add_argument(
        "--port", type=int, default=8200, help="first port tried: %(default)s"
    )
    args = parser.parse_args(argv)
    for key, (full, quick, _) in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    args.delays = [float(d) if "." in d else int(d) for d in args.delays.split(",")]
    for key in ("kinds", "naive_kinds", "persistent_kinds"):
        kinds = [k for k in getattr(args, key).split(",") if k]
        if set(kinds) - set(KINDS):
            parser.error(f"--{key.replace('_', '-')}: pages are {','.join(KINDS)}")
        setattr(args, key, kinds)
    return args


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def free_port(start: int) -> int:
    for port in range(start, start + 500):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):
                sock.bind(("127.0.0.1", port))
                return port
    raise BenchSetupError(f"no free port from {start}")


def control(url: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def load_metrics(entry: dict, seconds: float) -> dict:
    """Throughput and percentiles from Locust's histogram (2 significant digits
    above 100 ms)."""
    times = [int(ms) for ms, n in entry["response_times"].items() for _ in range(n)]
    cuts = statistics.quantiles(
        times * (2 if len(times) < 2 else 1), n=100, method="inclusive"
    )
    return {
        "requests": entry["num_requests"],
        "rps": entry["num_requests"] / seconds,
        "p50_ms": statistics.median(times),
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
    }


class Target:
    """One configuration: its proxy, its app (gunicorn), its users."""

    def __init__(self, bench: "Bench", name: str, port: int, upstream: str) -> None:
        self.name = name
        self.proxy_port = free_port(port)
        self.control_url = f"http://127.0.0.1:{free_port(self.proxy_port + 1)}"
        self.app_port = free_port(int(self.control_url.rsplit(":", 1)[1]) + 1)
        self.url = f"http://127.0.0.1:{self.app_port}"
        self.log = WORK_DIR / f"gunicorn-{name}.log"
        bench.start(
            f"proxy-{name}",
            f"-m tests.support.latency_proxy --upstream {upstream} --listen "
            f"127.0.0.1:{self.proxy_port} --control {self.control_url[7:]}",
            bench.env(),
        )
        wait_for(self.control_url + "/stats")
        env = bench.env(
            BENCH_CONFIG=name,
            PORT=str(self.app_port),
            DATABASE_URL=bench.database_url("127.0.0.1", self.proxy_port),
        )
        gunicorn = "-m gunicorn todoproject.wsgi -c gunicorn.conf.py"
        self.app = bench.start(f"app-{name}", gunicorn, env, self.log)
        wait_for(self.url + "/health/db", 60)

    def app_cpu(self) -> float:
        """CPU seconds (user and system) the app's workers have used so far."""
        workers = psutil.Process(self.app.pid).children()
        return sum(sum(worker.cpu_times()[:2]) for worker in workers)

    def set_delay(self, rtt_ms) -> None:
        control(f"{self.control_url}/delay?rtt_ms={rtt_ms}", "POST")

    def stats(self) -> dict:
        time.sleep(SETTLE_S)
        return control(self.control_url + "/stats")

    def send(self, session: requests.Session):
        def send(method, path, name, data=None, headers=None):
            options = {"data": data, "headers": headers, "allow_redirects": False}
            return session.request(method, self.url + path, timeout=60, **options)

        return send

    def log_in(self, username: str) -> dict:
        """Log in through the login form; the session's cookies."""
        session = requests.Session()
        page = session.get(self.url + "/accounts/login/", timeout=60)
        csrf = page.cookies["csrftoken"]
        response = session.post(
            self.url + "/accounts/login/",
            data=dict(username=username, password=PASSWORD, csrfmiddlewaretoken=csrf),
            headers={"Cookie": f"csrftoken={csrf}"},
            allow_redirects=False,
            timeout=60,
        )
        if response.status_code != 302 or "sessionid" not in response.cookies:
            raise RuntimeError(f"{self.name}: login of {username} failed")
        return {
            "sessionid": response.cookies["sessionid"],
            "csrftoken": response.cookies.get("csrftoken", csrf),
        }

    def app_problems(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        problems = []
        if text.count("Booting worker") > WORKERS:
            problems.append(f"{self.name}: gunicorn restarted a worker; see {self.log}")
        if "WORKER TIMEOUT" in text:
            problems.append(f"{self.name}: a gunicorn worker timed out; see {self.log}")
        return problems


def wait_for(url: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - local
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up: {exc}") from None
            time.sleep(0.2)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.processes: list[subprocess.Popen] = []
        self.cells: list[dict] = []
        self.failures: list[str] = []
        self.started, self.load_average = time.monotonic(), os.getloadavg()

    def env(self, **extra) -> dict:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT_DIR),
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 32,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL_DIRECT": "",  # a .env file must not redirect the bench
            # The TLS key share Neon's proxy takes (see bench/openssl.cnf).
            "OPENSSL_CONF": str(BENCH_DIR / "openssl.cnf"),
            **extra,
        }

    def database_url(self, host: str, port: int) -> str:
        name = self.args.db_name
        return (
            f"postgresql://{name}:{ROLE_PASSWORD}@{host}:{port}/{name}?sslmode=require"
        )

    def start(self, name: str, args: str, env: dict, log=None) -> None:
        """Start ``python ARGS`` in its own process group, its output to a log."""
        with open(log or WORK_DIR / f"{name}.log", "wb") as out:
            command = [sys.executable, *args.split()]
            options = {"cwd": ROOT_DIR, "env": env, "stderr": subprocess.STDOUT}
            options |= {"stdout": out, "start_new_session": True}
            self.processes.append(subprocess.Popen(command, **options))
        return self.processes[-1]

    def stop_all(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes = []

    def prepare(self) -> None:
        a = self.args
        self.sizes = Sizes(a.users, a.tasks_per_user, a.big_user_tasks)
        step(f"PostgreSQL: database and role {a.db_name}")
        with dataset.admin_connect(a.admin_url) as admin:
            dataset.check_tls(admin)
            dataset.ensure_role(admin, a.db_name, ROLE_PASSWORD)
            self.upstream = f"{admin.info.host}:{admin.info.port}"
            host, port = admin.info.host, admin.info.port
            print("  " + dataset.ensure_scram(admin, a.db_name, host, port))
        os.environ.update(self.env(DATABASE_URL=self.database_url(host, int(port))))
        import django

        django.setup()
        started = time.monotonic()
        with dataset.admin_connect(a.admin_url) as admin:
            dataset.recreate_database(admin, a.db_name, a.db_name)
        dataset.migrate(dict(os.environ))
        from django.contrib.auth.hashers import make_password

        # One hash for every user: hashing a million times is not the point.
        dataset.load(a.admin_url, a.db_name, self.sizes, make_password(PASSWORD))
        self.timings = {"data": time.monotonic() - started}
        with dataset.admin_connect(a.admin_url) as admin:
            # Write out what loading dirtied now, not during the measurements.
            admin.execute("CHECKPOINT")
        with dataset.admin_connect(a.admin_url, a.db_name) as conn:
            self.baseline = conn.execute("SELECT max(id) FROM tasks_task").fetchone()[0]
        static = [sys.executable, "manage.py", "collectstatic", "--noinput"]
        subprocess.run(
            static, cwd=ROOT_DIR, env=self.env(), check=True, stdout=subprocess.DEVNULL
        )

    def profiles(self, target: Target, rows) -> list[dict]:
        from django.contrib.auth import get_user_model

        from accounts.models import AccessToken

        out = []
        for user_id, username, ids in rows:
            _, token = AccessToken.objects.issue(get_user_model()(pk=user_id), "bench")
            out.append(
                {
                    "id": user_id,
                    "username": username,
                    "ids": ids[:20],
                    "task_count": len(ids),
                    "list": user_id,  # its Inbox's id (bench/dataset.py)
                    "token": token,
                    "stock": [],
                    **target.log_in(username),
                }
            )
        return out

    def warm_up(self, target: Target, profile: dict, delay) -> None:
        """Grow every worker's pool to its threads before anything is measured:
        bursts of overlapping list requests until the proxy holds one
        connection per thread (see bench/README.md), then a few at ``delay``."""
        browser = Browser(profile, target.send(requests.Session()))
        target.set_delay(FILL_DELAY_MS)
        busy, full = 2 * WORKERS * THREADS, WORKERS * THREADS
        get = lambda _: requests.get(  # noqa: E731 - a new connection each
            target.url + "/tasks/", headers={"Cookie": browser.cookie}, timeout=60
        )
        with ThreadPoolExecutor(busy) as pool:
            for _ in range(20):
                list(pool.map(get, range(busy)))
                if target.name == "naive" or target.stats()["connections_open"] >= full:
                    break
            else:
                print(f"  {target.name}: the pools did not reach {full} connections")
        target.set_delay(delay)
        for _ in range(5):
            browser.step("list")

    def one_at_a_time(self, target: Target, browser: Browser, kind: str) -> dict:
        out = {}
        for name in steps(kind):
            before, latencies, cpu = target.stats(), [], target.app_cpu()
            for _ in range(self.args.sequential):
                started = time.perf_counter()
                response = browser.step(name)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != EXPECTED[name]:
                    self.failures.append(
                        f"{target.name}: {name} answered {response.status_code}"
                    )
            cpu, after, n = target.app_cpu() - cpu, target.stats(), self.args.sequential
            trips = after["round_trips"] - before["round_trips"]
            opened = after["connections_opened"] - before["connections_opened"]
            out[name] = {
                "round_trips_per_request": trips / n,
                "connections_per_request": opened / n,
                "sequential_p50_ms": statistics.median(latencies),
                "sequential_cpu_ms": 1000 * cpu / n,
            }
        return out

    def under_load(self, target: Target, profiles: list[dict], kind: str):
        a = self.args
        before, cpu = target.stats(), target.app_cpu()
        entries, errors = locustfile.load(
            target.url, profiles, kind, a.concurrency, a.seconds
        )
        after, cpu = target.stats(), target.app_cpu() - cpu
        total = sum(entry["num_requests"] for entry in entries.values())
        if errors or any(e["num_failures"] for e in entries.values()):
            self.failures.append(f"{target.name} {kind}: {errors[:3]}")
        connections = after["connections_opened"] - before["connections_opened"]
        return {
            name: load_metrics(entry, a.seconds)
            | {
                "load_connections_per_request": connections / total,
                "open_connections": after["connections_open"],
                "cpu_ms": 1000 * cpu / total,
            }
            for name, entry in entries.items()
        }

    def measure(self, target: Target, profiles: list[dict], kind: str, delay) -> None:
        a = self.args
        browser = Browser(profiles[0], target.send(requests.Session()), "seq")
        if kind == "delete":
            stock = a.sequential + int(a.seconds * 300)
            for profile in profiles:
                profile["stock"] = dataset.stock(
                    a.admin_url, a.db_name, profile["id"], stock
                )
        sequential = self.one_at_a_time(target, browser, kind)
        load = self.under_load(target, profiles, kind)
        if kind in ("create", "delete"):
            dataset.remove_new_tasks(
                a.admin_url, a.db_name, [p["id"] for p in profiles], self.baseline
            )
        for name in steps(kind):
            cell = {
                "config": target.name,
                "delay_ms": delay,
                "name": name,
                **sequential[name],
                **load.get(name, {}),
            }
            self.cells.append(cell)
            print(
                f"  {target.name:<10} {delay:>3} ms  {name:<15} "
                f"p50 {cell.get('p50_ms', 0):5.1f} ms {cell.get('rps', 0):6.1f} req/s  "
                f"{cell['round_trips_per_request']:5.2f} round trips  "
                f"{cell['connections_per_request']:4.2f} connections / request"
            )

    def compare_big_user(self, target: Target, big: dict, small: dict) -> dict:
        """The list page of the user with many tasks next to a regular user's."""
        target.set_delay(0)
        out = {}
        pages = ("first", "list"), ("middle", "list_page"), ("search",) * 2
        for page, name in (*pages, ("due", "list_due")):
            out[page] = {}
            for role, profile in (("big", big), ("small", small)):
                browser = Browser(profile, target.send(requests.Session()))
                latencies = []
                for i in range(self.args.compare_samples + 5):
                    started = time.perf_counter()
                    browser.step(name)
                    if i >= 5:  # the first few warm up
                        latencies.append((time.perf_counter() - started) * 1000)
                out[page][role] = {
                    "tasks": profile["task_count"],
                    "page": browser.middle_page if name == "list_page" else 1,
                    "p50_ms": statistics.median(latencies),
                }
        return out

    def run(self) -> int:
        a = self.args
        WORK_DIR.mkdir(exist_ok=True)
        self.prepare()
        step("The proxies and the apps")
        kinds = {c: getattr(a, f"{c}_kinds", a.kinds) for c in CONFIGS}
        configs = [c for c in CONFIGS if kinds[c]]
        targets, port = {}, a.port
        for name in configs:
            target = targets[name] = Target(self, name, port, self.upstream)
            port = target.app_port + 1
            print(f"  {name}: app {target.url}, proxy {target.proxy_port}")
        rows = dataset.users(a.admin_url, a.db_name, len(configs) * a.concurrency + 1)
        profiles = {
            name: self.profiles(
                targets[name], rows[i * a.concurrency : (i + 1) * a.concurrency]
            )
            for i, name in enumerate(configs)
        }
        step("Pages: " + ", ".join(f"{d} ms" for d in a.delays))
        started = time.monotonic()
        for delay in a.delays:
            for name in configs:
                self.warm_up(targets[name], profiles[name][0], delay)
            for kind in KINDS:
                for name in configs:
                    if kind in kinds[name]:
                        self.measure(targets[name], profiles[name], kind, delay)
        compare = None
        if "chosen" in targets:
            from django.contrib.auth import get_user_model

            big = get_user_model().objects.get(username=dataset.BIG_USERNAME)
            [big] = self.profiles(targets["chosen"], [(big.pk, big.username, [])])
            big["task_count"] = self.sizes.big_user_tasks
            [small] = self.profiles(targets["chosen"], rows[-1:])
            compare = self.compare_big_user(targets["chosen"], big, small)
        self.timings["pages"] = time.monotonic() - started
        self.stop_all()
        for target in targets.values():
            self.failures += target.app_problems()
        self.timings["total"] = time.monotonic() - self.started
        results = dict(meta=self.meta(), cells=self.cells, compare=compare)
        results["failures"] = self.failures
        report.write(results, RESULTS_DIR)
        print(f"\nbench/results/ written ({self.timings['total']:.0f} s)")
        return 1 if self.failures else 0

    def meta(self) -> dict:
        a = self.args
        git = ["git", "-C", str(ROOT_DIR)]
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": subprocess.run(
                [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
            ).stdout.strip(),
            "mode": "quick" if a.quick else "full",
            "sizes": vars(self.sizes) | {"total_tasks": self.sizes.total_tasks},
            "delays_ms": a.delays,
            "concurrency": a.concurrency,
            "seconds": a.seconds,
            "sequential": a.sequential,
            "gunicorn": {"workers": WORKERS, "threads": THREADS},
            "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            + platform.platform(),
            "timings_s": {k: round(v, 1) for k, v in self.timings.items()},
            "load_average": {"start": self.load_average, "end": os.getloadavg()},
        }


def main(argv=None) -> int:
    bench = Bench(parse_args(argv))

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        return bench.run()
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping what it started", file=sys.stderr)
        return 130
    except BenchSetupError as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        bench.stop_all()
