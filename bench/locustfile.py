"""The load: Locust users, one per data-set user in ``$BENCH_USERS`` (JSON).

The driver runs Locust's own headless runner once per page, configuration and
delay, with ``--tags <kind>`` picking the page, and reads its CSV output.
"""

import itertools
import json
import os
import secrets

from locust import FastHttpUser, constant, tag

from bench.pages import EXPECTED, KINDS, Browser, steps

with open(os.environ["BENCH_USERS"]) as _users:
    PROFILES = itertools.cycle(json.load(_users))
RUN = secrets.token_hex(3)


class BrowserUser(FastHttpUser):
    """A logged-in user with no think time and one HTTP connection, like a tab."""

    wait_time = constant(0)
    concurrency = 1
    network_timeout = 60.0

    def on_start(self) -> None:
        self.browser = Browser(next(PROFILES), self.send, f"{RUN}-{id(self)}")

    def send(self, method, path, name, data=None, headers=None):
        with self.client.request(
            method,
            path,
            name=name,
            data=data,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != EXPECTED[name]:
                response.failure(f"status {response.status_code}")
            else:
                response.success()
            return response


def _task(kind: str):
    def run(user: BrowserUser) -> None:
        for name in steps(kind):
            user.browser.step(name)

    run.__name__ = kind
    return tag(kind)(run)


BrowserUser.tasks = [_task(kind) for kind in KINDS]
