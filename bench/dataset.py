"""The bench database, made as the administrator (``--admin-url``): the app's
role (a SCRAM password), the database, and a data set loaded with ``COPY``."""

import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import psycopg
from psycopg import sql

# Part of every user's random seed: bump it when the data changes shape.
DATASET_FORMAT = 4
HBA_MARKER = (
    "# added by the todo app's bench/ (SCRAM for its role; see bench/README.md)"
)


@dataclass(frozen=True)
class Sizes:
    users: int
    tasks_per_user: int
    big_user_tasks: int

    @property
    def total_tasks(self) -> int:
        return self.users * self.tasks_per_user + self.big_user_tasks


BIG_USERNAME = "bench_big"
# The big user's lists besides its Inbox; regular users keep all in the Inbox.
BIG_USER_LISTS = ["Work", "Home", "Errands", "Reading", "Someday"]


def username(index: int) -> str:
    return f"bench_{index:05d}"


class BenchSetupError(RuntimeError):
    """The server cannot host the bench as asked; the message says what to do."""


def admin_connect(admin_url: str, dbname: str | None = None) -> psycopg.Connection:
    kwargs = {"autocommit": True}
    if dbname:
        kwargs["dbname"] = dbname
    try:
        return psycopg.connect(admin_url, **kwargs)
    except psycopg.OperationalError as exc:
        raise BenchSetupError(
            f"cannot connect to PostgreSQL as the administrator ({exc}). "
            "Pass --admin-url postgresql://USER@HOST:PORT/postgres."
        ) from None


def check_tls(admin: psycopg.Connection) -> None:
    if admin.execute("SHOW ssl").fetchone()[0] != "on":
        raise BenchSetupError(
            "the PostgreSQL server has TLS turned off (SHOW ssl = off), so the "
            "bench cannot make connections cost what they cost on Neon "
            "(sslmode=require). Turn it on (ssl = on, with ssl_cert_file and "
            "ssl_key_file, then reload), for instance with a self-signed "
            "certificate; see bench/README.md."
        )


def ensure_role(admin: psycopg.Connection, role: str, password: str) -> None:
    exists = "SELECT 1 FROM pg_roles WHERE rolname = %s"
    verb = "ALTER" if admin.execute(exists, [role]).fetchone() else "CREATE"
    admin.execute("SET password_encryption = 'scram-sha-256'")
    admin.execute(
        sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
        )
    )


def _role_needs_password(conninfo: dict) -> bool:
    try:
        psycopg.connect(**conninfo, password="", connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if "password" in str(exc) or "SCRAM" in str(exc):
            return True
        raise BenchSetupError(f"cannot connect as the bench role: {exc}") from None
    return False


def ensure_scram(admin: psycopg.Connection, role: str, host: str, port: int) -> str:
    """Make the server ask ``role`` for a SCRAM password, as Neon always does
    (its round trips are part of a new connection's cost): a line for the bench
    role alone, above the others. Returns what was done."""
    probe = {"host": host, "port": port, "user": role, "dbname": "postgres"}
    if _role_needs_password(probe):
        return "the server already asks the bench role for its password"
    hba_file = admin.execute("SHOW hba_file").fetchone()[0]
    line = f"host    all    {role}    {host}/32    scram-sha-256"
    try:
        text = Path(hba_file).read_text()
        lines = text.splitlines(keepends=True)
        first_rule = next(
            (i for i, x in enumerate(lines) if x.strip() and not x.startswith("#")),
            len(lines),
        )
        lines[first_rule:first_rule] = [f"{HBA_MARKER}\n", f"{line}\n"]
        Path(hba_file).write_text("".join(lines))
    except OSError as exc:
        raise BenchSetupError(
            f"the server trusts {role} at {host} without a password, and "
            f"{hba_file} is not writable here ({exc.strerror}). Add this line "
            f"above the other rules, then reload PostgreSQL:\n    {line}"
        ) from None
    admin.execute("SELECT pg_reload_conf()")
    for _ in range(50):
        if _role_needs_password(probe):
            return f"added '{line}' to {hba_file} (above the trust rules) and reloaded"
        time.sleep(0.1)
    raise BenchSetupError(f"added '{line}' to {hba_file}, but it did not take effect")


def recreate_database(admin: psycopg.Connection, dbname: str, role: str) -> None:
    admin.execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(dbname)
        )
    )
    admin.execute(
        sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(dbname), sql.Identifier(role)
        )
    )


def migrate(env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise BenchSetupError(f"manage.py migrate failed:\n{result.stderr[-3000:]}")


VERBS = [
    "Buy", "Call", "Email", "Fix", "Review", "Schedule", "Pay", "Book", "Clean",
    "Plan", "Write", "Read", "Update", "Renew", "Return", "Prepare", "Order",
    "Check", "Send", "Organise", "Cancel", "Water", "Pick up", "Back up",
]  # fmt: skip
OBJECTS = [
    "groceries", "the dentist", "mum", "the quarterly report", "the bike tyre",
    "PR #{n}", "flights to Lisbon", "car insurance", "library books",
    "slides for Monday", "the electricity bill", "a birthday present for Sam",
    "the garden", "tax documents", "the team offsite", "invoice {n}",
    "the landlord", "running shoes", "the photos", "passport photos",
    "the release notes", "Q{q} budget", "the kitchen shelf", "the plants",
    "dinner reservation", "the newsletter draft", "my laptop", "the gym",
]  # fmt: skip
SUFFIXES = ["", "", "", "", " before Friday", " (urgent)", " this week", " — again"]
SENTENCES = [
    "Remember to bring the receipt.",
    "Ask Alex whether the numbers from last month are final.",
    "Needs the new template; the old one has the wrong logo.",
    "Check the opening hours first, they changed in the summer.",
    "Budget is around 150 € — don't go over.",
    "Follow up if there's no answer by Thursday.",
    "Link is in the shared drive under Projects/2024.",
    "Two copies: one for me, one for the accountant.",
    "Low priority, but it keeps coming back.",
    "Compare at least three offers & note the cancellation terms.",
]


def _title(rng: random.Random) -> str:
    obj = rng.choice(OBJECTS).format(n=rng.randint(100, 9999), q=rng.randint(1, 4))
    return f"{rng.choice(VERBS)} {obj}{rng.choice(SUFFIXES)}"


def _description(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return ""
    parts = rng.sample(SENTENCES, rng.randint(1, 4))
    return ("\n" if rng.random() < 0.2 else " ").join(parts)


def _rng(index: int) -> random.Random:
    # One generator per user: each user's tasks are the same in every run.
    return random.Random(f"bench-{DATASET_FORMAT}-{index}")


def _joined(index: int, now: datetime) -> datetime:
    return now - timedelta(days=_rng(-index).uniform(30, 730))


def _user_tasks(index: int, count: int, first_id: int, now: datetime, lists):
    """User ``index``'s ``count`` tasks, created since they joined, oldest first,
    each in one of ``lists`` (ids; the first, the Inbox, holds about half)."""
    rng = _rng(index)
    joined = _joined(index, now)
    span = (now - joined).total_seconds()
    offsets = sorted(rng.random() * span for _ in range(count))
    for task_id, offset in enumerate(offsets, start=first_id):
        created = joined + timedelta(seconds=offset)
        age_days = (now - created).days
        completed = rng.random() < (0.7 if age_days > 30 else 0.3)
        updated = created
        if completed or rng.random() < 0.2:
            updated = created + timedelta(
                seconds=rng.random() * (now - created).total_seconds()
            )
        list_id = lists[0] if rng.random() < 0.5 else rng.choice(lists)
        title, description = _title(rng), _description(rng)
        # A third have a due date, from a month ago to two months ahead;
        # half of those a time of day.
        due = rng.randrange(-30, 60) if rng.random() < 1 / 3 else None
        due_date = None if due is None else (now + timedelta(days=due)).date()
        due_time = time_of_day(9 + due % 9) if due is not None and due % 2 else None
        yield (task_id, index, list_id, title, description, completed, created,
               updated, due_date, due_time)  # fmt: skip


# The last three have no default in the database: none recurs.
TASK_COLUMNS = ["id", "user_id", "list_id", "title", "description", "completed",
                "created_at", "updated_at", "due_date", "due_time", "recurrence",
                "recur_from", "sequence"]  # fmt: skip
SETVAL = "SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))"
INDEXES = (
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename IN "
    "('tasks_task', 'tasks_tasklist') ORDER BY 1, 2"
)


def _column_types(conn, table: str, columns: list[str]) -> list[str]:
    """The columns' types, for a binary COPY (which must name them exactly)."""
    types = dict(
        conn.execute(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0",
            [table],
        ).fetchall()
    )
    return [types[column] for column in columns]


def load(admin_url: str, dbname: str, sizes: Sizes, password_hash: str) -> None:
    """Fill the freshly migrated database with users, lists and tasks (COPY).

    User ``i`` has id ``i`` and its Inbox id ``i`` too (the post_save signal
    that makes one does not run for COPY, nor the one that makes a profile); the
    big user's other lists follow.
    """
    now, big = datetime.now(UTC), sizes.users + 1
    extra = {name: big + 1 + i for i, name in enumerate(BIG_USER_LISTS)}
    with admin_connect(admin_url, dbname) as conn:
        # The rows are consistent by construction; skipping the per-row
        # foreign-key triggers and building the task indexes once, after the
        # load, makes the load several times faster.
        conn.execute("SET session_replication_role = replica")
        migrated = conn.execute(INDEXES).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'tasks_task' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))

        with conn.cursor() as cur:
            with cur.copy(
                "COPY auth_user (id, password, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined) FROM STDIN"
            ) as copy:
                for index in range(1, big + 1):
                    name = username(index) if index < big else BIG_USERNAME
                    copy.write_row(
                        (index, password_hash, False, name, "", "",
                         f"{name}@example.com", False, True, _joined(index, now))
                    )  # fmt: skip
            with cur.copy(
                "COPY tasks_tasklist (id, user_id, name, is_inbox, created_at) "
                "FROM STDIN"
            ) as copy:
                for index in range(1, big + 1):
                    copy.write_row((index, index, "Inbox", True, _joined(index, now)))
                for name, list_id in extra.items():
                    copy.write_row((list_id, big, name, False, _joined(big, now)))
            with cur.copy(
                "COPY accounts_profile (user_id, time_zone) FROM STDIN"
            ) as copy:
                for index in range(1, big + 1):
                    copy.write_row((index, "UTC"))  # what a signup gets
            print(f"  users: {big:,}, lists: {big + len(extra):,}")

        types = _column_types(conn, "tasks_task", TASK_COLUMNS)
        columns = sql.SQL(", ").join(map(sql.Identifier, TASK_COLUMNS))
        copy_sql = sql.SQL("COPY tasks_task ({}) FROM STDIN (FORMAT BINARY)")
        with conn.cursor() as cur, cur.copy(copy_sql.format(columns)) as copy:
            copy.set_types(types)
            for index in range(1, big + 1):
                count = sizes.tasks_per_user if index < big else sizes.big_user_tasks
                lists = [index, *(extra.values() if index == big else ())]
                first_id = (index - 1) * sizes.tasks_per_user + 1
                for row in _user_tasks(index, count, first_id, now, lists):
                    copy.write_row((*row, "", "due", 0))
        print(f"  tasks: {sizes.total_tasks:,}")

        started = time.monotonic()
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            conn.execute(definition)
        if conn.execute(INDEXES).fetchall() != migrated:
            raise RuntimeError("the indexes after loading differ from the migrations'")
        for table in ("auth_user", "tasks_tasklist", "tasks_task"):
            name = sql.Identifier(table)
            conn.execute(sql.SQL(SETVAL).format(sql.Literal(table), name))
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(name))
        print(f"  indexes, vacuum, analyze: {time.monotonic() - started:.1f} s")


def users(admin_url: str, dbname: str, count: int) -> list[tuple[int, str, list]]:
    """``count`` regular bench users: id, username and task ids, newest first."""
    with admin_connect(admin_url, dbname) as conn:
        return conn.execute(
            "SELECT u.id, u.username, array_agg(t.id ORDER BY t.created_at DESC, "
            "t.id DESC) FROM auth_user u JOIN tasks_task t ON t.user_id = u.id "
            "WHERE u.username LIKE 'bench\\_0%%' GROUP BY u.id ORDER BY u.id LIMIT %s",
            [count],
        ).fetchall()


def stock(admin_url: str, dbname: str, user_id: int, count: int) -> list[int]:
    """``count`` new tasks for ``user_id`` to delete; their ids."""
    with admin_connect(admin_url, dbname) as conn:
        rows = conn.execute(
            "INSERT INTO tasks_task (user_id, list_id, title, description, completed, "
            "created_at, updated_at, recurrence, recur_from, sequence) SELECT %s, %s, "
            "'To delete ' || n, '', false, now() - interval '1 year', now(), '', "
            "'due', 0 "
            "FROM generate_series(1, %s) n RETURNING id",
            [user_id, user_id, count],  # the Inbox's id is its user's
        ).fetchall()
    return [row[0] for row in rows]


def remove_new_tasks(admin_url: str, dbname: str, user_ids, above: int) -> None:
    """Take the tasks created or stocked during a cell away again."""
    with admin_connect(admin_url, dbname) as conn:
        conn.execute(
            "DELETE FROM tasks_task WHERE user_id = ANY(%s) AND id > %s",
            [list(user_ids), above],
        )
