"""Load generation: logged-in Locust users, driven from a plan, in their own process.

Locust runs on gevent, which patches the standard library as it is imported, so
the load runs apart from the driver: ``python -m bench.load PLAN.json OUT.json``.

Two modes:

``perf``
    ``users`` Locust users log in once each (or reuse a session the driver
    passes in), then wait for cells. For every delay and page kind the
    controller first sends a batch of sequential requests from one user and
    diffs the proxy's counters around it (round trips and connections per
    request), then has every user send ``per_user`` requests of that kind
    back to back (latency percentiles and throughput).
``durability``
    ``users`` Locust users send a random mix of reads and writes for
    ``duration`` seconds and keep a journal of every write the app
    acknowledged; the driver then checks the journal against the database.

Every user works on its own tasks only, as a browser would.
"""

# isort: off
# Locust first: it patches the standard library for gevent as it is imported.
from locust import FastHttpUser, constant, task

# isort: on
import html
import json
import math
import random
import re
import secrets
import sys
import time
from http.cookiejar import Cookie, DefaultCookiePolicy
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust.env import Environment
from locust.log import setup_logging

from bench.kinds import EXPECTED, WRITE_KINDS, steps
from bench.server import proxy_stats, set_delay

LIST_PAGE_SIZE = 50
TASK_ROW = re.compile(r'<li class="task[^"]*" id="task-(\d+)">(.*?)</li>', re.S)
ROW_TITLE = re.compile(r'<a class="title"[^>]*>(.*?)</a>', re.S)
VERSION = re.compile(r'name="version" value="([^"]*)"')

TITLES = [
    "Call Zoë about the “launch” & the <b>budget</b>",
    "Pay invoice #{n} — 50% now, rest on delivery",
    "Buy 🍞 & 🥛 for the weekend",
    'Reply to "Re: Q{q} planning" thread',
    "Book the café for Tuesday's retro",
    "Renew passport (expires in {n} days)",
]
DESCRIPTIONS = [
    "",
    "Bring the receipt.",
    "Ask whether <the> numbers are final & send them on.\nThen archive the thread.",
    "Línea 2: ¿todo bien? — ok 👍",
]


IDLE_RECONNECT_S = 1.0
# Marks the titles this process creates, so that they are unique across runs
# on a reused data set.
RUN_ID = secrets.token_hex(3)


def log(message: str) -> None:
    print(f"  {message}", flush=True)


class InsecureCookiePolicy(DefaultCookiePolicy):
    """Send ``Secure`` cookies over plain HTTP.

    With ``DEBUG=false`` the session and CSRF cookies are ``Secure``; in
    production TLS ends at the platform's router, here the bench talks plain
    HTTP on loopback to gunicorn, like that router does.
    """

    def return_ok_secure(self, cookie, request):
        return True


# --- recording ------------------------------------------------------------------------


class Recorder:
    """Every request's outcome, into the bucket of the current phase."""

    def __init__(self) -> None:
        self.bucket: dict[str, list] | None = None
        self.statuses: dict[str, int] = {}
        self.server_errors: list[dict] = []
        self.unexpected: dict[str, dict[str, int]] = {}
        self.logins: list[float] = []

    def on_request(self, name, response_time, response=None, exception=None, **_):
        status = getattr(response, "status_code", 0) or 0
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if (status >= 500 or status == 0) and len(self.server_errors) < 50:
            self.server_errors.append(
                {
                    "name": name,
                    "status": status,
                    "url": getattr(response, "url", None),
                    "error": repr(exception) if exception else None,
                }
            )
        if status and status != EXPECTED.get(name, status):
            counts = self.unexpected.setdefault(name, {})
            counts[str(status)] = counts.get(str(status), 0) + 1
        if name == "login":
            self.logins.append(response_time)
        if self.bucket is not None:
            self.bucket.setdefault(name, []).append((response_time, status))


RECORDER = Recorder()


# --- a logged-in browser --------------------------------------------------------------


class Actor:
    """One data-set user behind one Locust user: its session and its tasks."""

    def __init__(self, client, profile: dict, password: str, target: str = "") -> None:
        self.client = client
        self.target = target
        self.profile = profile
        self.username = profile["username"]
        self.password = password
        self.token = profile.get("token")
        self.tasks = {t["id"]: dict(t) for t in profile.get("tasks", [])}
        self.ids = [t["id"] for t in profile.get("tasks", [])]
        self.created = 0
        self.last_request = time.monotonic()
        client.cookiejar.set_policy(InsecureCookiePolicy())

    # Session.

    def cookie(self, name: str) -> str | None:
        for cookie in self.client.cookiejar:
            if cookie.name == name:
                return cookie.value
        return None

    def export_cookies(self) -> list[dict]:
        return [
            {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
            for c in self.client.cookiejar
            if c.name in ("sessionid", "csrftoken")
        ]

    def import_cookies(self, cookies: list[dict]) -> None:
        for c in cookies:
            self.client.cookiejar.set_cookie(
                Cookie(0, c["name"], c["value"], None, False, c["domain"],
                       True, c["domain"].startswith("."), c["path"], True, True,
                       None, False, None, None, {})
            )  # fmt: skip

    def request(self, method, path, name, data=None, headers=None):
        if time.monotonic() - self.last_request > IDLE_RECONNECT_S:
            # gunicorn closes a kept-alive connection idle for 2 s, and a
            # request sent just as it does gets no answer. After a pause, start
            # on a fresh connection, as a browser whose idle one was closed.
            self.client.client.close()
        headers = dict(headers or {})
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            return self.client.request(
                method,
                path,
                name=name,
                data=body,
                headers=headers,
                allow_redirects=False,
            )
        finally:
            self.last_request = time.monotonic()

    def log_in(self) -> bool:
        """Reuse the session the driver passed in if it is still valid, else log in."""
        if self.profile.get("cookies"):
            self.import_cookies(self.profile["cookies"])
            probe = self.request("GET", "/tasks/", "session check")
            if probe.status_code == 200:
                return True
            self.client.cookiejar.clear()
        self.request("GET", "/accounts/login/", "login page")
        response = self.request(
            "POST",
            "/accounts/login/",
            "login",
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": self.cookie("csrftoken") or "",
                "next": "/tasks/",
            },
        )
        return response.status_code == 302 and self.cookie("sessionid") is not None

    def form(self, **fields) -> dict:
        return {"csrfmiddlewaretoken": self.cookie("csrftoken") or "", **fields}

    # Pages.

    @property
    def middle_page(self) -> int:
        count = self.profile.get("task_count", len(self.ids))
        pages = max(1, math.ceil(count / LIST_PAGE_SIZE))
        return pages // 2 + 1 if pages > 1 else 1

    def list(self, status=None, page=None, name="list"):
        query = {k: v for k, v in (("status", status), ("page", page)) if v}
        path = "/tasks/" + (f"?{urlencode(query)}" if query else "")
        return self.request("GET", path, name)

    def refresh_ids(self) -> None:
        """The ids on the first list page, newest first (for deletes)."""
        response = self.list(name="list (refresh)")
        found = [int(i) for i, _ in TASK_ROW.findall(response.text or "")]
        known = set(found)
        self.ids = found + [i for i in self.ids if i not in known]

    def toggle(self, pk):
        return self.request("POST", f"/tasks/{pk}/toggle/", "toggle", self.form())

    def new_title(self) -> tuple[str, str]:
        self.created += 1
        template = random.choice(TITLES)
        title = template.format(n=random.randint(2, 999), q=random.randint(1, 4))
        tag = f"{RUN_ID}-{self.username}-{self.created}"
        return f"{title} [{tag}]", random.choice(DESCRIPTIONS)

    def create(self, title, description):
        return self.request(
            "POST",
            "/tasks/new/",
            "create",
            self.form(title=title, description=description),
        )

    def edit_form(self, pk) -> tuple[int, str | None]:
        response = self.request("GET", f"/tasks/{pk}/edit/", "edit_form")
        match = VERSION.search(response.text or "")
        return response.status_code, html.unescape(match.group(1)) if match else None

    def edit_save(self, pk, version, title, description, completed):
        fields = {"title": title, "description": description, "version": version}
        if completed:
            fields["completed"] = "on"
        return self.request(
            "POST", f"/tasks/{pk}/edit/", "edit_save", self.form(**fields)
        )

    def delete(self, pk):
        return self.request("POST", f"/tasks/{pk}/delete/", "delete", self.form())

    def api(self, name="api"):
        return self.request(
            "GET",
            "/api/tasks",
            name,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def find_created(self, title: str) -> int | None:
        """Follow the create's redirect to the list and find the new task's id."""
        response = self.list(name="list (after create)")
        for task_id, row in TASK_ROW.findall(response.text or ""):
            match = ROW_TITLE.search(row)
            if match and html.unescape(match.group(1)).strip() == title:
                return int(task_id)
        return None


class BenchUser(FastHttpUser):
    """A Locust user with no think time and one HTTP connection."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 120.0
    connection_timeout = 10.0
    # One connection per user, as a browser tab mostly uses: a pool of them
    # leaves some idle past gunicorn's 2 s keep-alive, and a request sent as
    # the server closes one is lost in transit.
    concurrency = 1


# --- perf mode ------------------------------------------------------------------------


def jobs_for(actor: Actor, kind: str, count: int) -> list:
    if kind in ("toggle", "edit"):
        ids = actor.ids[: max(1, min(count, len(actor.ids)))]
        return [ids[i % len(ids)] for i in range(count)]
    if kind == "delete":
        taken, actor.ids = actor.ids[:count], actor.ids[count:]
        return taken
    if kind == "create":
        return [actor.new_title() for _ in range(count)]
    return [None] * count


def run_step(actor: Actor, name: str, job, state: dict) -> None:
    if name == "list":
        actor.list()
    elif name == "list_active":
        actor.list("active", name=name)
    elif name == "list_completed":
        actor.list("completed", name=name)
    elif name == "list_page":
        actor.list(page=actor.middle_page, name=name)
    elif name == "toggle":
        actor.toggle(job)
    elif name == "create":
        actor.create(*job)
    elif name == "edit_form":
        state[job] = actor.edit_form(job)[1]
    elif name == "edit_save":
        actor.edit_save(
            job,
            state.get(job) or "",
            f"Edited task {job}",
            "Edited by the bench.",
            False,
        )
    elif name == "delete":
        actor.delete(job)
    elif name == "api":
        actor.api()


class Controller:
    """Runs cells: every user of one target sends one kind of request at once.

    The targets (one app and its proxy per configuration) are all up at the
    same time, and their cells alternate, so a change in the machine's load
    during the run touches every configuration alike.
    """

    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.targets = {t["name"]: t for t in plan["targets"]}
        self.queue = [(t["name"], p) for t in plan["targets"] for p in t["users"]]
        self.expected = len(self.queue)
        self.actors: dict[str, list[Actor]] = {name: [] for name in self.targets}
        self.logged_in = 0
        self.login_failures: list[str] = []
        self.ready = Event()
        self.cell = None
        self.cell_id = 0
        self.cell_event = Event()
        self.done = 0
        self.done_event = Event()
        self.finished = False

    def claim(self) -> tuple[str, dict]:
        return self.queue.pop(0)

    def joined(self, actor: Actor, ok: bool) -> None:
        self.actors[actor.target].append(actor)
        self.logged_in += 1
        if not ok:
            self.login_failures.append(f"{actor.target}/{actor.username}")
        if self.logged_in == self.expected:
            self.ready.set()

    def serve(self, actor: Actor) -> None:
        """A user's life after login: run each cell of its target."""
        seen = 0
        while not self.finished:
            self.cell_event.wait()
            if self.finished:
                return
            if self.cell_id == seen:
                gevent.sleep(0.001)
                continue
            seen = self.cell_id
            target, kind, count = self.cell
            if actor.target != target:
                continue
            try:
                if kind == "refresh":
                    actor.refresh_ids()
                else:
                    state: dict = {}
                    for job in jobs_for(actor, kind, count):
                        for name in steps(kind):
                            run_step(actor, name, job, state)
            finally:
                self.done += 1
                if self.done == len(self.actors[target]):
                    self.done_event.set()

    def run_cell(self, target: str, kind: str, count: int) -> float:
        self.done = 0
        self.done_event.clear()
        self.cell = (target, kind, count)
        started = time.perf_counter()
        self.cell_id += 1
        self.cell_event.set()
        self.done_event.wait()
        self.cell_event.clear()
        return time.perf_counter() - started

    def sequential(self, target: str, kind: str, count: int) -> dict:
        """Round trips and connections per request, from a batch of one kind."""
        control = self.targets[target]["control_url"]
        actor = self.actors[target][0]
        out = {}
        jobs = jobs_for(actor, kind, count)
        state: dict = {}
        for name in steps(kind):
            gevent.sleep(SETTLE)
            before = proxy_stats(control)
            RECORDER.bucket = {}
            for job in jobs:
                run_step(actor, name, job, state)
            samples = RECORDER.bucket.get(name, [])
            RECORDER.bucket = None
            gevent.sleep(SETTLE)
            after = proxy_stats(control)
            out[name] = {
                "requests": len(jobs),
                "round_trips": after["round_trips"] - before["round_trips"],
                "connections": after["connections_opened"]
                - before["connections_opened"],
                "latency_ms": [ms for ms, _ in samples],
                "statuses": [status for _, status in samples],
            }
        return out

    def measure(self, target: str, kind: str, delay) -> list[dict]:
        """One kind on one target: its sequential batch, then its cell."""
        plan = self.plan
        control = self.targets[target]["control_url"]
        if kind == "delete":
            self.run_cell(target, "refresh", 1)
        sequential = self.sequential(target, kind, plan["sequential"])
        per_user = plan["per_user"]["write" if kind in WRITE_KINDS else "read"]
        before = proxy_stats(control)
        RECORDER.bucket = {}
        wall = self.run_cell(target, kind, per_user)
        bucket, RECORDER.bucket = RECORDER.bucket, None
        gevent.sleep(SETTLE)
        after = proxy_stats(control)
        names = steps(kind)
        total = sum(len(bucket.get(name, [])) for name in names)
        seq = sequential[names[0]]
        log(
            f"{target:<10} {delay:>4} ms  {kind:<15} {total / wall:7.1f} req/s  "
            f"{seq['round_trips'] / max(seq['requests'], 1):5.2f} round trips/req  "
            f"{seq['connections'] / max(seq['requests'], 1):4.2f} connections/req"
        )
        return [
            {
                "config": target,
                "delay_ms": delay,
                "name": name,
                "users": len(self.actors[target]),
                "wall_s": wall,
                "latency_ms": [ms for ms, _ in bucket.get(name, [])],
                "statuses": [status for _, status in bucket.get(name, [])],
                "sequential": sequential[name],
                # Under load, for the whole cell (all its steps).
                "load_requests": total,
                "load_round_trips": after["round_trips"] - before["round_trips"],
                "load_connections": after["connections_opened"]
                - before["connections_opened"],
            }
            for name in names
        ]


# Long enough for a closing connection's last bytes to reach the proxy.
SETTLE = 0.025


def run_perf(env: Environment, plan: dict, out: dict) -> None:
    controller = Controller(plan)
    password = plan["password"]

    class PerfUser(BenchUser):
        host = plan["targets"][0]["base_url"]

        def on_start(self):
            target, profile = controller.claim()
            self.client.base_url = controller.targets[target]["base_url"]
            self.actor = Actor(self.client, profile, password, target)
            RECORDER.bucket = None
            controller.joined(self.actor, self.actor.log_in())

        @task
        def work(self):
            controller.serve(self.actor)
            if controller.finished:
                gevent.sleep(1)

    env.user_classes = [PerfUser]
    env.runner = env.create_local_runner()
    started = time.perf_counter()
    env.runner.start(controller.expected, spawn_rate=100)
    if not controller.ready.wait(timeout=600):
        raise RuntimeError("the users did not all log in within 10 minutes")
    out["login_s"] = time.perf_counter() - started
    out["login_failures"] = controller.login_failures
    out["cookies"] = {
        target: {a.username: a.export_cookies() for a in actors}
        for target, actors in controller.actors.items()
    }
    if controller.login_failures:
        raise RuntimeError(f"login failed for {controller.login_failures[:5]}")
    log(f"{controller.expected} users logged in ({out['login_s']:.1f} s)")

    kinds = {name: list(t["kinds"]) for name, t in controller.targets.items()}
    out["api"] = {}
    for name, target in controller.targets.items():
        if "api" not in kinds[name]:
            continue
        set_delay(target["control_url"], 0)
        status = controller.actors[name][0].api(name="api probe").status_code
        out["api"][name] = {"status": status, "available": status == 200}
        if status != 200:
            kinds[name].remove("api")
            log(f"{name}: GET /api/tasks answered {status}: skipping the API")

    order = [k for k in plan["kind_order"] if any(k in ks for ks in kinds.values())]
    cells = out.setdefault("cells", [])
    for delay in plan["delays"]:
        for name, target in controller.targets.items():
            # Warm up: pools fill, keep-alive connections open.
            fill_pools(env, target, controller.actors[name][0], plan["saturate"])
            set_delay(target["control_url"], delay)
            controller.run_cell(name, "list", plan.get("warmup", 5))
        for kind in order:
            for name in controller.targets:
                if kind in kinds[name]:
                    cells += controller.measure(name, kind, delay)

    if plan.get("compare"):
        out["compare"] = compare_big_user(env, plan)

    controller.finished = True
    controller.cell_event.set()
    env.runner.quit()


def http_session(env: Environment, base_url: str, concurrency: int = 1):
    """A client outside Locust's users, its requests recorded like theirs."""
    from locust.contrib.fasthttp import FastHttpSession

    return FastHttpSession(
        base_url,
        env.events.request,
        user=None,
        network_timeout=120,
        concurrency=concurrency,
    )


def fill_pools(env: Environment, target: dict, actor: Actor, requests: int) -> None:
    """Grow every worker's connection pool to what its threads can use.

    Pools open connections on demand, so which worker's pool has grown depends
    on how the bench's kept-alive connections happened to spread over the
    workers; a cell where more of them land on one worker than ever before
    would open a connection, which is growth, not a cost per request. Enough
    simultaneous requests to keep every thread of every worker busy take each
    pool to its steady size first: sent with a long delay, so that they
    overlap even where a page takes a few milliseconds, and on new
    connections each round, which gunicorn's workers share out afresh. Not
    recorded. The caller sets the delay to measure afterwards.
    """
    set_delay(target["control_url"], FILL_DELAY_MS)
    session = http_session(env, target["base_url"], concurrency=requests)
    filler = Actor(session, actor.profile, actor.password, actor.target)
    filler.import_cookies(actor.export_cookies())
    for _ in range(3):
        gevent.joinall(
            [
                gevent.spawn(session.request, "GET", "/tasks/", name="warm-up")
                for _ in range(requests)
            ]
        )
        session.client.close()


FILL_DELAY_MS = 50


def compare_big_user(env: Environment, plan: dict) -> dict:
    """The list page of the user with many tasks next to a regular user's."""
    spec = plan["compare"]
    target = next(t for t in plan["targets"] if t["name"] == spec["target"])
    set_delay(target["control_url"], spec["delay_ms"])
    actors = {}
    for role in ("big", "small"):
        session = http_session(env, target["base_url"])
        actor = Actor(session, spec[role], plan["password"], target["name"])
        if not actor.log_in():
            raise RuntimeError(f"login failed for {actor.username}")
        actors[role] = actor
    result: dict = {"cookies": {r: a.export_cookies() for r, a in actors.items()}}
    for page_name, page in (("first", None), ("middle", "middle")):
        samples: dict[str, list[float]] = {"big": [], "small": []}
        for i in range(spec["samples"] + 5):
            for role, actor in actors.items():
                RECORDER.bucket = {}
                actor.list(page=actor.middle_page if page else None)
                ms, status = RECORDER.bucket["list"][0]
                RECORDER.bucket = None
                if i >= 5 and status == 200:  # the first few warm up
                    samples[role].append(ms)
        result[page_name] = {
            role: {
                "latency_ms": values,
                "tasks": actors[role].profile.get("task_count", len(actors[role].ids)),
                "page": actors[role].middle_page if page else 1,
            }
            for role, values in samples.items()
        }
    return result


# --- durability mode ------------------------------------------------------------------


class Journal:
    """What the app acknowledged to one user, task by task."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        # id -> expected state; None in a field means "not known for sure".
        self.tasks = {
            t["id"]: {
                "title": t["title"],
                "description": t["description"],
                "completed": t["completed"],
                "created": False,
                "deleted": False,
                "maybe_deleted": False,
            }
            for t in actor.profile.get("tasks", [])
        }
        self.unlocated: list[dict] = []  # acknowledged, id not found on the list
        self.unacknowledged: list[dict] = []  # outcome unknown (error, no answer)
        self.conflicts = 0
        self.acks = {"create": 0, "toggle": 0, "edit": 0, "delete": 0}

    def live_ids(self) -> list[int]:
        return [
            i
            for i, t in self.tasks.items()
            if not t["deleted"] and not t["maybe_deleted"]
        ]

    def as_dict(self) -> dict:
        return {
            "user_id": self.actor.profile["id"],
            "username": self.actor.username,
            "tasks": {str(k): v for k, v in self.tasks.items()},
            "unlocated": self.unlocated,
            "unacknowledged": self.unacknowledged,
            "conflicts": self.conflicts,
            "acks": self.acks,
        }


def run_durability(env: Environment, plan: dict, out: dict) -> None:
    password = plan["password"]
    profiles = list(plan["users"])
    journals: list[Journal] = []
    ready, go, stop = Event(), Event(), Event()
    state = {"logged_in": 0, "busy": 0, "failures": []}
    use_api = False

    class MixedUser(BenchUser):
        host = plan["base_url"]

        def on_start(self):
            self.actor = Actor(self.client, profiles.pop(0), password)
            self.journal = Journal(self.actor)
            journals.append(self.journal)
            if not self.actor.log_in():
                state["failures"].append(self.actor.username)
            state["logged_in"] += 1
            if state["logged_in"] == len(plan["users"]):
                ready.set()
            go.wait()

        @task
        def act(self):
            if stop.is_set():
                gevent.sleep(0.5)
                return
            state["busy"] += 1
            try:
                self.one_action()
            finally:
                state["busy"] -= 1

        def one_action(self):
            actor, journal = self.actor, self.journal
            choice = random.random()
            ids = journal.live_ids()
            if choice < 0.35 or not ids:
                if choice < 0.05 and use_api:
                    actor.api()
                    return
                status = random.choice([None, None, "active", "completed"])
                page = actor.middle_page if random.random() < 0.2 else None
                actor.list(
                    status, page, name="list" if not status else f"list_{status}"
                )
            elif choice < 0.60:
                title, description = actor.new_title()
                response = actor.create(title, description)
                entry = {"title": title, "description": description}
                if response.status_code == 302:
                    journal.acks["create"] += 1
                    task_id = actor.find_created(title)
                    if task_id is None:
                        journal.unlocated.append(entry)
                    else:
                        journal.tasks[task_id] = {
                            **entry,
                            "completed": False,
                            "created": True,
                            "deleted": False,
                            "maybe_deleted": False,
                        }
                elif response.status_code != 200:  # 200: the form, nothing saved
                    journal.unacknowledged.append(
                        {**entry, "status": response.status_code}
                    )
            elif choice < 0.75:
                pk = random.choice(ids)
                response = actor.toggle(pk)
                expected = journal.tasks[pk]
                if response.status_code == 302:
                    journal.acks["toggle"] += 1
                    if expected["completed"] is not None:
                        expected["completed"] = not expected["completed"]
                else:
                    expected["completed"] = None
            elif choice < 0.90:
                pk = random.choice(ids)
                status, version = actor.edit_form(pk)
                expected = journal.tasks[pk]
                if status != 200 or not version:
                    return
                title = actor.new_title()[0].replace("]", f" edit {pk}]")
                description = random.choice(DESCRIPTIONS)
                completed = random.random() < 0.5
                response = actor.edit_save(pk, version, title, description, completed)
                if response.status_code == 302:
                    journal.acks["edit"] += 1
                    expected.update(
                        title=title, description=description, completed=completed
                    )
                elif response.status_code == 200:
                    journal.conflicts += 1
                else:
                    expected.update(title=None, description=None, completed=None)
            else:
                pk = random.choice(ids)
                response = actor.delete(pk)
                if response.status_code == 302:
                    journal.acks["delete"] += 1
                    journal.tasks[pk]["deleted"] = True
                else:
                    journal.tasks[pk]["maybe_deleted"] = True

    env.user_classes = [MixedUser]
    env.runner = env.create_local_runner()
    started = time.perf_counter()
    env.runner.start(len(plan["users"]), spawn_rate=100)
    if not ready.wait(timeout=600):
        raise RuntimeError("the users did not all log in within 10 minutes")
    out["login_s"] = time.perf_counter() - started
    out["login_failures"] = state["failures"]
    if state["failures"]:
        raise RuntimeError(f"login failed for {state['failures'][:5]}")
    log(f"{len(plan['users'])} users logged in ({out['login_s']:.1f} s)")
    if plan.get("api"):
        status = journals[0].actor.api(name="api probe").status_code
        out["api"] = {"status": status, "available": status == 200}
        use_api = status == 200
    RECORDER.bucket = {}
    started = time.perf_counter()
    go.set()
    gevent.sleep(plan["duration"])
    stop.set()
    # Let every action in flight finish, so each write has a known outcome.
    deadline = time.monotonic() + 130
    while state["busy"] and time.monotonic() < deadline:
        gevent.sleep(0.05)
    out["wall_s"] = time.perf_counter() - started
    out["in_flight_at_end"] = state["busy"]
    bucket, RECORDER.bucket = RECORDER.bucket, None
    out["requests"] = {
        name: {
            "latency_ms": [ms for ms, _ in samples],
            "statuses": [status for _, status in samples],
        }
        for name, samples in bucket.items()
    }
    out["journals"] = [j.as_dict() for j in journals]
    out["cookies"] = {j.actor.username: j.actor.export_cookies() for j in journals}
    env.runner.quit()


def main() -> int:
    plan_path, out_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    setup_logging("WARNING")
    random.seed(plan.get("seed", 1))
    env = Environment(user_classes=[], events=None)
    env.events.request.add_listener(RECORDER.on_request)
    out: dict = {"mode": plan["mode"]}
    error = None
    try:
        if plan["mode"] == "perf":
            run_perf(env, plan, out)
        else:
            run_durability(env, plan, out)
    except Exception as exc:  # reported to the driver, which fails the run
        import traceback

        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
    out["error"] = error
    out["status_counts"] = RECORDER.statuses
    out["server_errors"] = RECORDER.server_errors
    out["unexpected"] = RECORDER.unexpected
    out["login_ms"] = RECORDER.logins
    with open(out_path, "w") as f:
        json.dump(out, f)
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
