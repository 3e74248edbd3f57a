"""The scale-out load (``bench/scale-out``), for Locust's own headless runner.

Each user signs up, then adds a task and reads the list, back to back, with
no think time (unless ``SCALE_OUT_WAIT``), on one keep-alive connection
(``requests``, as the outside load test that found the closed connections
used). A create counts as acknowledged only when it redirects to the list;
the driver compares that count with the user's tasks in the database. Users
are named ``$SCALE_OUT_RUN-<n>``, so the driver can find them.
"""

import itertools
import os

import gevent
from locust import HttpUser, between, task

PASSWORD = "Scale-out load 2026"
_numbers = itertools.count(1)


class Visitor(HttpUser):
    # No think time, unless SCALE_OUT_WAIT ("1.9-2.1", seconds) asks for a
    # pause between iterations: a connection then sits idle that long.
    wait_time = between(*map(float, os.environ.get("SCALE_OUT_WAIT", "0-0").split("-")))

    def on_start(self) -> None:
        self.client.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        self.client.verify = os.environ.get("SCALE_OUT_CA") or False
        # Straight at an instance, say what HAProxy says (it overwrites this).
        self.client.headers["X-Forwarded-Proto"] = "https"
        self.username = f"{os.environ['SCALE_OUT_RUN']}-{next(_numbers)}"
        self.created = 0
        self.expect("GET", "/accounts/signup/", 200)
        form = {"username": self.username, "password1": PASSWORD, "password2": PASSWORD}
        # 429: another signup is hashing its password on that process (the
        # per-process slot, accounts.throttling); a browser user tries again.
        while self.expect("POST", "/accounts/signup/", 302, form, busy_ok=True) == 429:
            gevent.sleep(1)

    @task
    def add_then_list(self) -> None:
        self.created += 1
        title = f"{self.username} task {self.created}"
        self.expect("POST", "/tasks/new/", 302, {"title": title})
        self.expect("GET", "/tasks/", 200)

    def expect(self, method, path, status, form=None, busy_ok=False) -> int:
        """Send; anything but ``status`` (a redirect only to the list) fails."""
        headers = {}
        if form is not None:
            form["csrfmiddlewaretoken"] = self.client.cookies.get("csrftoken", "")
            # As a browser on the https:// page, which X-Forwarded-Proto claims.
            headers["Referer"] = self.host.replace("http:", "https:", 1) + path
        with self.client.request(
            method, path, data=form, headers=headers, name=f"{method} {path}",
            allow_redirects=False, catch_response=True,
        ) as response:  # fmt: skip
            # Secure cookies go to http://127.0.0.1 too, as browsers send them
            # to localhost: the run straight at one instance has no TLS.
            for cookie in self.client.cookies:
                cookie.secure = False
            got = response.status_code
            if got == 0:  # no response at all: Locust reports the connection's error
                return got
            where = response.headers.get("Location", "/tasks/")
            if (got == status and where == "/tasks/") or (busy_ok and got == 429):
                response.success()
            else:
                response.failure(f"status {got} {where if got == 302 else ''}")
            return got
