"""Helpers for the tests: data, shared tables, threads; fixtures are in conftest.py."""

import threading

from django.db import connection

from tasks.models import Task

PASSWORD = "correct-horse-battery-staple"

# Every per-task page URL, with the methods it answers.
TASK_URLS = {
    "/tasks/{pk}/": ["GET"],
    "/tasks/{pk}/edit/": ["GET", "POST"],
    "/tasks/{pk}/toggle/": ["POST"],
    "/tasks/{pk}/delete/": ["GET", "POST"],
}


def make_tasks(user, count: int, **fields) -> list[Task]:
    return Task.objects.for_user(user).bulk_create(
        Task(title=f"Task {n}", **fields) for n in range(count)
    )


def in_threads(count: int, work) -> list:
    """Run ``work(i)`` for i in range(count), all released at once; return
    the results in order, or raise the first error a thread met."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:  # reported in the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results
