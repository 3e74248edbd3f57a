"""The load: Locust's library runner in the driver's own process (``load()``).

``python -m bench`` imports Locust first: it patches the standard library for
gevent, and the driver's threads and sockets then take turns with its users.
"""

import itertools
import secrets

import gevent
from locust import FastHttpUser, constant
from locust.env import Environment

from bench.pages import EXPECTED, Browser, steps

RUN = secrets.token_hex(3)


class BrowserUser(FastHttpUser):
    """A logged-in user with no think time and one HTTP connection, like a tab."""

    abstract = True
    wait_time = constant(0)
    concurrency = 1
    network_timeout = 60.0

    def on_start(self) -> None:
        self.browser = Browser(next(self.profiles), self.send, f"{RUN}-{id(self)}")

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


def load(host: str, profiles: list[dict], kind: str, users: int, seconds: float):
    """``users`` users send page ``kind`` back to back for ``seconds``.

    Returns Locust's numbers per request name (``num_requests``,
    ``num_failures``, ``response_times``: its histogram) and the errors.
    """

    def run(user: BrowserUser) -> None:
        for name in steps(kind):
            user.browser.step(name)

    user_class = type(
        f"{kind}_user",
        (BrowserUser,),
        {"abstract": False, "tasks": [run], "profiles": itertools.cycle(profiles)},
    )
    env = Environment(user_classes=[user_class], host=host, stop_timeout=30)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=100)
    runner.spawning_greenlet.join()
    env.stats.reset_all()
    gevent.sleep(seconds)
    # What was counted in ``seconds``, before the users in flight finish.
    snapshot = lambda e: vars(e) | {"response_times": dict(e.response_times)}  # noqa: E731
    entries = {e.name: snapshot(e) for e in env.stats.entries.values()}
    runner.quit()
    errors = [f"{e.name}: {e.error}" for e in env.stats.errors.values()] + [
        e["msg"] for e in runner.exceptions.values()
    ]
    return entries, errors
