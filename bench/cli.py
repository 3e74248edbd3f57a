"""``python -m bench``: build the data, start the proxy and the app, measure, report.

See bench/README.md for what is measured and how to read the results.
"""

import argparse
import importlib
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg

from bench import RESULTS_DIR, ROOT_DIR, WORK_DIR, dataset, report, server
from bench.dataset import BenchSetupError, Sizes
from bench.kinds import KINDS as ALL_KINDS

# As gunicorn.conf.py reads them, with its defaults.
GUNICORN = {
    "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
    "threads": int(os.environ.get("GUNICORN_THREADS", "4")),
}
PASSWORD = "bench-Passw0rd-for-every-user"  # noqa: S105 - the data set's, public
ROLE_PASSWORD = "todo-bench-role-password"  # noqa: S105 - a local bench role

CONFIGS = {
    "chosen": {
        "settings": "bench.settings_chosen",
        "label": "chosen (pool + liveness poll)",
        "description": "todoproject.settings unchanged: psycopg pool (min_size 0, "
        "max_idle 240 s), zero-round-trip liveness check, the project's sessions",
    },
    "naive": {
        "settings": "bench.settings_naive",
        "label": "naive (new connection per request)",
        "description": "no pool, CONN_MAX_AGE=0, database-backed sessions",
    },
    "persistent": {
        "settings": "bench.settings_persistent",
        "label": "persistent + health check",
        "description": "no pool, CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True, plain "
        "django.db.backends.postgresql engine, the project's sessions",
    },
}

FULL = {
    "users": 10_000,
    "tasks_per_user": 100,
    "big_user_tasks": 10_000,
    "delays": "0,2,10",
    "concurrency": 4,
    "requests": 30,
    "write_requests": 15,
    "sequential": 20,
    "naive_kinds": ",".join(ALL_KINDS),
    "persistent_kinds": ",".join(ALL_KINDS),
    "compare_samples": 40,
}
QUICK = {
    "users": 1_000,
    "tasks_per_user": 20,
    "big_user_tasks": 2_000,
    "delays": "0,10",
    "concurrency": 4,
    "requests": 6,
    "write_requests": 3,
    "sequential": 5,
    "naive_kinds": "list,toggle,create",
    "persistent_kinds": "list",
    "compare_samples": 20,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark the todo app against PostgreSQL behind a simulated "
        "network (see bench/README.md).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small data set, delays 0 and 10 ms, short windows (for CI); "
        "fails on any 5xx, lost write or bench error",
    )
    sizes = parser.add_argument_group("data set")
    sizes.add_argument("--users", type=int, help="regular users (10000; quick 1000)")
    sizes.add_argument(
        "--tasks-per-user", type=int, help="tasks of each regular user (100; quick 20)"
    )
    sizes.add_argument(
        "--big-user-tasks",
        type=int,
        help="tasks of the one big user (10000; quick 2000)",
    )
    sizes.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the existing bench database if its sizes match (and reuse "
        "its logged-in sessions)",
    )
    load = parser.add_argument_group("load")
    load.add_argument("--delays", help="simulated round-trip times in ms (0,2,10)")
    load.add_argument(
        "--configs",
        default="chosen,naive,persistent",
        help="configurations to run (chosen,naive,persistent)",
    )
    load.add_argument(
        "--concurrency", type=int, help="concurrent logged-in users per cell (4)"
    )
    load.add_argument(
        "--requests", type=int, help="requests per user in a read cell (30; quick 10)"
    )
    load.add_argument(
        "--write-requests",
        type=int,
        help="requests per user in a write cell (15; quick 5)",
    )
    load.add_argument(
        "--sequential",
        type=int,
        help="requests in each round-trip counting batch (10; quick 5)",
    )
    load.add_argument(
        "--kinds",
        default=",".join(ALL_KINDS),
        help="requests measured for the chosen configuration (all: "
        + ",".join(ALL_KINDS)
        + ")",
    )
    load.add_argument(
        "--naive-kinds",
        help="requests measured for the naive configuration (all; quick: "
        "list,toggle,create)",
    )
    load.add_argument(
        "--persistent-kinds",
        help="requests measured for persistent + health check (all; quick: list)",
    )
    load.add_argument("--compare-samples", type=int, help=argparse.SUPPRESS)
    load.add_argument(
        "--durability-users", type=int, default=50, help="users in the write test (50)"
    )
    load.add_argument(
        "--durability-seconds",
        type=float,
        default=60,
        help="length of the write test (60)",
    )
    load.add_argument(
        "--skip-durability", action="store_true", help="leave out the write test"
    )
    where = parser.add_argument_group("where")
    where.add_argument(
        "--admin-url",
        default=os.environ.get(
            "BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a superuser connection to the server (BENCH_ADMIN_URL)",
    )
    where.add_argument("--db-name", default="todo_bench")
    where.add_argument("--role", default="todo_bench", help="the role the app uses")
    where.add_argument("--app-port", type=int, default=8100, help="first port tried")
    where.add_argument(
        "--proxy-port", type=int, default=6500, help="first port tried (and +1)"
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.delays = [float(d) if "." in d else int(d) for d in args.delays.split(",")]
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for config in args.configs:
        if config not in CONFIGS:
            parser.error(f"unknown configuration {config!r}")
    for option in ("kinds", "naive_kinds", "persistent_kinds"):
        kinds = [k.strip() for k in getattr(args, option).split(",") if k.strip()]
        unknown = set(kinds) - set(ALL_KINDS)
        if unknown:
            parser.error(f"unknown request kinds: {', '.join(sorted(unknown))}")
        setattr(args, option, kinds)
    return args


STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"\n== [{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.processes = server.Processes()
        self.sizes = Sizes(args.users, args.tasks_per_user, args.big_user_tasks)
        self.timings: dict[str, float] = {}
        # Logged-in sessions by session backend, then by username.
        self.cookies: dict[str, dict[str, list]] = {}
        self.outputs: dict[str, dict] = {}
        self.notes: list[str] = []
        self.connections: dict[str, dict] = {}
        self.started = time.monotonic()

    # -- setup ---------------------------------------------------------------------

    def url(self, host: str, port: int) -> str:
        a = self.args
        return (
            f"postgresql://{a.role}:{ROLE_PASSWORD}@{host}:{port}/{a.db_name}"
            "?sslmode=require"
        )

    def setup_django(self) -> None:
        """The driver's own Django: hashing, tokens, EXPLAIN; straight to the server."""
        host, port = self.admin_host_port()
        env = server.app_env("bench.settings_chosen", self.url(host, port))
        env["ALLOWED_HOSTS"] += ",testserver"
        os.environ.update(env)
        import django

        django.setup()

    def admin_host_port(self) -> tuple[str, int]:
        with dataset.admin_connect(self.args.admin_url) as admin:
            return admin.info.host, admin.info.port

    def prepare_server(self) -> None:
        a = self.args
        step("PostgreSQL")
        with dataset.admin_connect(a.admin_url) as admin:
            dataset.check_tls(admin)
            dataset.ensure_role(admin, a.role, ROLE_PASSWORD)
            host, port = admin.info.host, admin.info.port
            print(
                f"  TLS on; role {a.role}: "
                + dataset.ensure_scram(admin, a.role, host, port)
            )

    def prepare_data(self) -> None:
        a = self.args
        step(
            f"Data set: {self.sizes.users:,} users x {self.sizes.tasks_per_user} tasks "
            f"+ 1 user x {self.sizes.big_user_tasks:,} tasks in database {a.db_name}"
        )
        started = time.monotonic()
        migrate_env = dict(os.environ)
        if a.reuse_data and dataset.stored_sizes(a.admin_url, a.db_name) == self.sizes:
            print("  reusing the existing data set (--reuse-data, same sizes)")
            dataset.migrate(migrate_env)
            self.timings["data"] = time.monotonic() - started
            return
        with dataset.admin_connect(a.admin_url) as admin:
            dataset.recreate_database(admin, a.db_name, a.role)
        dataset.migrate(migrate_env)
        print(f"  created and migrated ({time.monotonic() - started:.1f} s)")
        from django.contrib.auth.hashers import make_password

        # One hash for every user: hashing a million times is not the point.
        dataset.load(a.admin_url, a.db_name, self.sizes, make_password(PASSWORD))
        self.timings["data"] = time.monotonic() - started
        print(f"  data set ready in {self.timings['data']:.1f} s")

    def pick_users(self) -> None:
        a = self.args
        needed = max(
            len(a.configs) * a.concurrency + 1,
            0 if a.skip_durability else a.durability_users,
        )
        minimum = min(self.sizes.tasks_per_user, 10)
        rows = dataset.users_with_tasks(a.admin_url, a.db_name, needed, minimum)
        if len(rows) < needed:
            raise BenchSetupError(
                f"the data set has {len(rows)} users with {minimum}+ tasks; "
                f"{needed} are needed (--users, --concurrency, --durability-users)"
            )
        from django.contrib.auth import get_user_model

        from accounts.models import AccessToken

        User = get_user_model()
        self.users = []
        for user_id, username in rows:
            _, raw = AccessToken.objects.issue(User(pk=user_id), "bench")
            self.users.append({"id": user_id, "username": username, "token": raw})
        big = User.objects.get(username=dataset.BIG_USERNAME)
        _, raw = AccessToken.objects.issue(big, "bench")
        self.big = {
            "id": big.pk,
            "username": big.username,
            "token": raw,
            "task_count": self.sizes.big_user_tasks,
        }
        cookie_file = WORK_DIR / f"sessions-{a.db_name}.json"
        if a.reuse_data and cookie_file.exists():
            self.cookies = json.loads(cookie_file.read_text())

    def sessions(self, config: str) -> dict[str, list]:
        """The sessions a configuration's app accepts (its session backend's)."""
        backend = getattr(
            importlib.import_module(CONFIGS[config]["settings"]),
            "SESSION_ENGINE",
            "django.contrib.sessions.backends.db",
        )
        return self.cookies.setdefault(backend, {})

    def profiles(self, users: list[dict], config: str) -> list[dict]:
        tasks = dataset.tasks_of(
            self.args.admin_url, self.args.db_name, [u["id"] for u in users]
        )
        sessions = self.sessions(config)
        return [
            {
                **u,
                "cookies": sessions.get(u["username"]),
                "tasks": tasks[u["id"]],
                "task_count": len(tasks[u["id"]]),
            }
            for u in users
        ]

    # -- running ----------------------------------------------------------------------

    def run_load(self, name: str, plan: dict) -> dict:
        WORK_DIR.mkdir(exist_ok=True)
        plan_path = WORK_DIR / f"plan-{name}.json"
        out_path = WORK_DIR / f"out-{name}.json"
        out_path.unlink(missing_ok=True)
        plan_path.write_text(json.dumps(plan))
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.load", str(plan_path), str(out_path)],
            cwd=ROOT_DIR,
            env=server.base_env(),
            start_new_session=True,
        )
        self.processes.running[f"load-{name}"] = process
        process.wait()
        self.processes.running.pop(f"load-{name}", None)
        if not out_path.exists():
            raise RuntimeError(
                f"the load process for {name} died (exit {process.returncode})"
            )
        out = json.loads(out_path.read_text())
        self.outputs[name] = out
        if out.get("error"):
            raise RuntimeError(f"load {name}: {out['error']}")
        return out

    def start_targets(self) -> None:
        """A proxy and an app per configuration, all up for the whole run."""
        a = self.args
        host, port = self.admin_host_port()
        self.targets = {}
        proxy_port, app_port = a.proxy_port, a.app_port
        for config in a.configs:
            spec = CONFIGS[config]
            proxy_port = server.free_port(proxy_port)
            control_port = server.free_port(proxy_port + 1)
            control_url = f"http://127.0.0.1:{control_port}"
            server.start_proxy(
                self.processes, config, proxy_port, control_port, f"{host}:{port}"
            )
            app_port = server.free_port(app_port)
            env = server.app_env(
                spec["settings"], self.url("127.0.0.1", proxy_port), app_port
            )
            server.start_app(self.processes, config, env, app_port)
            self.targets[config] = {
                "name": config,
                "base_url": f"http://127.0.0.1:{app_port}",
                "control_url": control_url,
            }
            print(
                f"  {spec['label']}: app on 127.0.0.1:{app_port} "
                f"({spec['settings']}), proxy 127.0.0.1:{proxy_port} -> {host}:{port} "
                f"(control {control_url})"
            )
            proxy_port, app_port = proxy_port + 2, app_port + 1

    def run_perf(self) -> None:
        a = self.args
        step(
            "Pages: every configuration side by side, delays "
            + ", ".join(f"{d} ms" for d in a.delays)
        )
        started = time.monotonic()
        kinds = {
            "chosen": a.kinds,
            "naive": a.naive_kinds,
            "persistent": a.persistent_kinds,
        }
        targets = []
        # Each configuration gets users of its own: deletes change their tasks.
        for index, config in enumerate(a.configs):
            users = self.users[index * a.concurrency : (index + 1) * a.concurrency]
            targets.append(
                {
                    **self.targets[config],
                    "users": self.profiles(users, config),
                    "kinds": kinds[config],
                }
            )
        plan = {
            "mode": "perf",
            "password": PASSWORD,
            "targets": targets,
            "kind_order": ALL_KINDS,
            "delays": a.delays,
            "per_user": {"read": a.requests, "write": a.write_requests},
            "sequential": a.sequential,
            # Enough simultaneous requests to keep every gunicorn thread busy.
            "saturate": 2 * GUNICORN["workers"] * GUNICORN["threads"],
        }
        if "chosen" in a.configs:
            small = self.users[len(a.configs) * a.concurrency]
            sessions = self.sessions("chosen")
            plan["compare"] = {
                "target": "chosen",
                "delay_ms": 0,
                "samples": a.compare_samples,
                "big": {**self.big, "cookies": sessions.get(self.big["username"])},
                "small": self.profiles([small], "chosen")[0],
            }
        out = self.run_load("perf", plan)
        for config, cookies in out.get("cookies", {}).items():
            self.sessions(config).update(cookies)
        if "compare" in out:
            cookies = out["compare"].pop("cookies")
            sessions = self.sessions("chosen")
            sessions[self.big["username"]] = cookies["big"]
            sessions[plan["compare"]["small"]["username"]] = cookies["small"]
        for api in out.get("api", {}).values():
            if not api["available"]:
                note = (
                    f"GET /api/tasks answered {api['status']}: the JSON API is not "
                    "there yet, so it was left out."
                )
                if note not in self.notes:
                    self.notes.append(note)
        self.timings["pages"] = time.monotonic() - started

    def checkpoint(self) -> None:
        """Write out what loading the data dirtied before anything is measured.

        Otherwise the checkpointer flushes it during the measurements (a
        checkpoint spreads its writes over minutes), on the same two cores.
        """
        try:
            with dataset.admin_connect(self.args.admin_url) as admin:
                admin.execute("CHECKPOINT")
        except psycopg.Error as error:
            self.notes.append(f"CHECKPOINT before the measurements failed: {error}")

    def run_durability(self) -> None:
        a = self.args
        step(
            f"Durability: {a.durability_users} users, {a.durability_seconds:g} s of "
            "mixed reads and writes at 0 ms, chosen configuration"
        )
        started = time.monotonic()
        target = self.targets["chosen"]
        server.set_delay(target["control_url"], 0)
        plan = {
            "mode": "durability",
            "base_url": target["base_url"],
            "password": PASSWORD,
            "users": self.profiles(self.users[: a.durability_users], "chosen"),
            "duration": a.durability_seconds,
            "api": "api" in a.kinds,
        }
        out = self.run_load("durability", plan)
        self.sessions("chosen").update(out.get("cookies") or {})
        out["verification"] = verify_durability(a.admin_url, a.db_name, out["journals"])
        v = out["verification"]
        print(
            f"  {v['acknowledged_creates']} acknowledged creates, "
            f"{v['acknowledged_edits']} edits, {v['acknowledged_toggles']} toggles, "
            f"{v['acknowledged_deletes']} deletes; lost or wrong: {len(v['problems'])}"
        )
        self.timings["durability"] = time.monotonic() - started

    def run(self) -> int:
        a = self.args
        print(
            f"bench: {'quick' if a.quick else 'full'} run, configurations "
            f"{', '.join(a.configs)}, delays {', '.join(map(str, a.delays))} ms"
        )
        self.prepare_server()
        self.setup_django()
        self.prepare_data()
        self.pick_users()

        step("Static files, the proxies and the apps")
        server.collectstatic(dict(os.environ))
        self.start_targets()
        self.checkpoint()
        self.run_perf()
        if "chosen" in a.configs and not a.skip_durability:
            # After the pages: its minute of writes leaves the server busy
            # (dirty buffers, WAL) for a while, which the pages would measure.
            self.run_durability()
        for config, target in self.targets.items():
            self.connections[config] = connection_summary(
                server.proxy_stats(target["control_url"], connections=True)
            )
        self.processes.stop_all()
        problems = [
            p for c in a.configs for p in server.app_problems(c, GUNICORN["workers"])
        ]

        step("EXPLAIN of the list page's queries for the big user")
        explain = explain_list_page(self.big["username"])
        for entry in explain["queries"]:
            print(f"  {entry['label']}: index used: {entry['uses_index']}")

        (WORK_DIR / f"sessions-{a.db_name}.json").write_text(json.dumps(self.cookies))
        self.timings["total"] = time.monotonic() - self.started
        summary = report.summarize(
            meta=self.meta(),
            configs={c: CONFIGS[c] for c in a.configs},
            outputs=self.outputs,
            explain=explain,
            connections=self.connections,
            notes=self.notes,
            app_problems=problems,
        )
        report.write(summary, RESULTS_DIR)
        report.print_summary(summary)
        print(
            f"\nResults: {RESULTS_DIR.relative_to(ROOT_DIR)}/ "
            "(README.md, results.json, bench.png)"
        )
        print(f"Total time: {self.timings['total']:.0f} s")
        return 1 if summary["failures"] else 0

    def meta(self) -> dict:
        a = self.args
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT_DIR,
            capture_output=True,
            text=True,
        ).stdout.strip()
        # The app runs from the working tree, which may differ from the commit.
        changed = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench",
            ],
            cwd=ROOT_DIR,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit,
            "uncommitted_changes": len([line for line in changed if line.strip()]),
            "mode": "quick" if a.quick else "full",
            "sizes": {
                "users": self.sizes.users,
                "tasks_per_user": self.sizes.tasks_per_user,
                "big_user_tasks": self.sizes.big_user_tasks,
                "total_tasks": self.sizes.total_tasks,
            },
            "delays_ms": a.delays,
            "concurrency": a.concurrency,
            "requests_per_user": {"read": a.requests, "write": a.write_requests},
            "sequential": a.sequential,
            "durability": None
            if a.skip_durability
            else {"users": a.durability_users, "seconds": a.durability_seconds},
            "gunicorn": GUNICORN,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "timings_s": {k: round(v, 1) for k, v in self.timings.items()},
        }


def connection_summary(stats: dict) -> dict:
    """A proxy's per-connection counters, summed up."""
    trips = sorted(c["round_trips"] for c in stats["open"] + stats["closed"])
    return {
        "opened": stats["connections_opened"],
        "round_trips": sum(trips),
        "round_trips_per_connection": {
            "min": trips[0] if trips else None,
            "median": trips[len(trips) // 2] if trips else None,
            "max": trips[-1] if trips else None,
        },
    }


def verify_durability(admin_url: str, dbname: str, journals: list[dict]) -> dict:
    """Check every acknowledged write against what the database holds now."""
    problems: list[dict] = []
    counts = {"create": 0, "edit": 0, "toggle": 0, "delete": 0}
    checked = 0
    user_ids = [j["user_id"] for j in journals]
    with dataset.admin_connect(admin_url, dbname) as conn:
        rows = conn.execute(
            "SELECT id, user_id, title, description, completed FROM tasks_task "
            "WHERE user_id = ANY(%s)",
            [user_ids],
        ).fetchall()
    by_user: dict[int, dict[int, tuple]] = {uid: {} for uid in user_ids}
    for task_id, user_id, title, description, completed in rows:
        by_user[user_id][task_id] = (title, description, completed)

    def problem(journal, kind, **details):
        problems.append({"user": journal["username"], "problem": kind, **details})

    for journal in journals:
        for key in counts:
            counts[key] += journal["acks"][key]
        stored = by_user[journal["user_id"]]
        titles: dict[str, int] = {}
        for title, _, _ in stored.values():
            titles[title] = titles.get(title, 0) + 1
        for key, expected in journal["tasks"].items():
            task_id = int(key)
            row = stored.get(task_id)
            if expected["deleted"]:
                checked += 1
                if row is not None:
                    problem(journal, "deleted task is back", id=task_id)
                continue
            if expected["maybe_deleted"]:
                continue
            checked += 1
            if row is None:
                problem(
                    journal,
                    "acknowledged task missing",
                    id=task_id,
                    created_in_test=expected["created"],
                )
                continue
            for index, field in enumerate(("title", "description", "completed")):
                if expected[field] is not None and row[index] != expected[field]:
                    problem(
                        journal,
                        f"{field} differs from the acknowledged one",
                        id=task_id,
                        expected=expected[field],
                        stored=row[index],
                    )
            if expected["created"] and titles.get(row[0], 0) > 1:
                problem(journal, "created task stored twice", id=task_id)
        for entry in journal["unlocated"]:
            checked += 1
            matches = [r for r in stored.values() if r[0] == entry["title"]]
            if len(matches) != 1 or matches[0][1] != entry["description"]:
                problem(
                    journal,
                    "acknowledged task (id unknown) missing, wrong or duplicated",
                    title=entry["title"],
                    found=len(matches),
                )
    return {
        "acknowledged_creates": counts["create"],
        "acknowledged_edits": counts["edit"],
        "acknowledged_toggles": counts["toggle"],
        "acknowledged_deletes": counts["delete"],
        "tasks_checked": checked,
        "unlocated_creates": sum(len(j["unlocated"]) for j in journals),
        "unacknowledged": sum(len(j["unacknowledged"]) for j in journals),
        "edit_conflicts": sum(j["conflicts"] for j in journals),
        "problems": problems,
    }


def explain_list_page(username: str) -> dict:
    """Render the big user's list page in-process and EXPLAIN its task queries."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tasks.models import Task

    # The app logs every request; the driver's terminal is not the place.
    logging.disable(logging.INFO)
    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    out = {"queries": []}
    for label, path in (("first page", "/tasks/"), ("middle page", None)):
        if path is None:
            pages = -(-Task.objects.for_user(user).count() // 50)
            path = f"/tasks/?page={pages // 2 + 1}"
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code} in-process")
        out.setdefault("query_counts", {})[label] = len(captured.captured_queries)
        for query in captured.captured_queries:
            sql = query["sql"]
            if "tasks_task" not in sql:
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            # An index scan, an index-only scan or a bitmap heap scan fed by
            # an index are all fine; a sequential scan of the table is not.
            scans = [line for line in plan.splitlines() if " on tasks_task" in line]
            uses_index = bool(scans) and not any("Seq Scan" in line for line in scans)
            upper = sql.upper()
            what = [
                name
                for name, present in (
                    ("rows", " LIMIT " in upper),
                    ("counts", "COUNT(" in upper),
                )
                if present
            ]
            out["queries"].append(
                {
                    "label": f"{label}: " + (" and ".join(what) or "query"),
                    "path": path,
                    "sql": sql,
                    "plan": plan,
                    "uses_index": uses_index,
                }
            )
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)

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
    except Exception as exc:
        import traceback

        traceback.print_exc()
        print(f"\nbench: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.processes.stop_all()
