"""The one door to a user's rows: querysets that must be scoped to a user.

``Task.objects`` and ``TaskList.objects`` refuse to run a query until
``for_user()`` has scoped it (``OwnedQuerySet``), so forgetting the owner
fails loudly in development instead of leaking another user's rows in
production. The admin and management commands that truly need every row use
``Model.unscoped``, by name.
"""

from contextlib import nullcontext
from datetime import timedelta

from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, connections, models, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    JSONField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.constants import OnConflict
from django.db.models.expressions import Star
from django.db.models.functions import Coalesce, JSONArray
from django.db.models.sql import DeleteQuery, UpdateQuery
from django.utils import timezone

from . import dates, recurrence, search


def _count_of(queryset) -> Subquery:
    # COUNT as a plain function, not an aggregate, so no GROUP BY is added:
    # the subquery is one row, one number.
    counted = queryset.annotate(
        n=Func(Star(), function="COUNT", output_field=IntegerField())
    )
    return Subquery(counted.values("n"))


def _counts_of(queryset) -> Subquery:
    """All and active tasks of ``queryset`` as one scalar subquery, a JSON
    array ``[all, active]``: the database runs the query (a search, say)
    once for both numbers."""
    counted = queryset.annotate(
        n=JSONArray(
            Func("pk", function="COUNT"),
            Func(Case(When(completed=False, then=1)), function="COUNT"),
        )
    )
    return Subquery(counted.values("n"), output_field=JSONField())


def _stamped(values: dict) -> dict:
    """``values`` with a new ``updated_at``: the one place a write stamps it.

    ``updated_at`` is also the version an edit form sends back, so every
    change must move it: toggles, transfers and admin actions included.
    """
    return {**values, "updated_at": timezone.now()}


# The SET clause of a toggle, computed by the database from the row itself,
# so that two toggles racing each other flip twice instead of once.
TOGGLED = {"completed": ~Q(completed=True)}


# How long a deleted task can be restored; after that it is gone for good.
TRASH_DAYS = 30


def trash_cutoff():
    return timezone.now() - timedelta(days=TRASH_DAYS)


class UnscopedQueryError(RuntimeError):
    """A query on a per-user model ran without ``for_user()``."""


class NameTaken(Exception):
    """The owner has another list of that name (ignoring case)."""


def recoverable(using):
    """Around a statement whose IntegrityError is answered, not raised.

    Inside a transaction (a test's), PostgreSQL refuses every statement
    after an error until a rollback: a savepoint limits that to the failed
    statement. In autocommit, as requests run, the statement is its own
    transaction, and atomic() would only add BEGIN and COMMIT: two more
    round trips.
    """
    if transaction.get_connection(using).in_atomic_block:
        return transaction.atomic(using=using)
    return nullcontext()


class OwnedQuerySet(models.QuerySet):
    """Rows that belong to one user: nothing reaches the database until
    ``for_user()`` has scoped the queryset.

    A per-user model gets the rule by inheriting: its manager is
    ``OwnedManager.from_queryset(ItsQuerySet)()`` and its ``unscoped``
    manager, for the admin and commands, ``UnscopedManager.from_queryset(...)``.
    The tests of the refusal run for every model built on it.
    """

    _scoped = False
    _owner = None

    def _clone(self):
        clone = super()._clone()
        clone._scoped = self._scoped
        clone._owner = self._owner
        return clone

    def _require_scope(self) -> None:
        if not self._scoped:
            name = self.model.__name__
            raise UnscopedQueryError(
                f"{name} queries must be scoped: use {name}.objects.for_user(user) "
                f"(or {name}.unscoped where every user's rows are really meant)."
            )

    # Every way a queryset reaches the database passes through one of these.

    def _fetch_all(self):
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._require_scope()
        yield from super()._iterator(use_chunked_fetch, chunk_size)

    async def aiterator(self, chunk_size=2000):
        self._require_scope()
        async for item in super().aiterator(chunk_size):
            yield item

    def count(self):
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def contains(self, obj):
        self._require_scope()
        return super().contains(obj)

    def aggregate(self, *args, **kwargs):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._require_scope()
        return super().update(**kwargs)

    def _update(self, values):
        self._require_scope()
        return super()._update(values)

    def delete(self):
        self._require_scope()
        return super().delete()

    def _raw_delete(self, using):
        self._require_scope()
        return super()._raw_delete(using)

    def explain(self, *, format=None, **options):
        self._require_scope()
        return super().explain(format=format, **options)

    def create(self, **kwargs):
        self._require_scope()
        if self._owner is not None:
            kwargs["user"] = self._owner
        return super().create(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        self._require_scope()
        objs = list(objs)
        if self._owner is not None:
            for obj in objs:
                obj.user = self._owner
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        self._require_scope()
        return super().bulk_update(objs, fields, batch_size=batch_size)

    # The door.

    def for_user(self, user):
        """The rows of ``user``: the one door."""
        return self._owned_by(user)

    def _owned_by(self, user):
        if user is None or not user.is_authenticated:
            raise UnscopedQueryError(
                f"{self.model.__name__} rows can only be scoped to a signed-in user."
            )
        # By id, so that tasks.list_page can scope a read to the user a
        # session names before Django has loaded it (its id as a subquery).
        scoped = self.filter(user_id=user.pk)
        scoped._scoped = True
        scoped._owner = user
        return scoped


class OwnedManager(models.Manager):
    """``Model.objects`` of a per-user model: every query goes through
    ``for_user()``.

    ``user.<related>.all()`` raises too: Django builds related managers on the
    default manager and filters them by the user, not through ``for_user()``.
    """


class UnscopedManager(models.Manager):
    """``Model.unscoped``: every user's rows, for the admin and commands only."""

    def get_queryset(self):
        queryset = super().get_queryset()
        queryset._scoped = True
        return queryset


class TaskListQuerySet(OwnedQuerySet):
    def inbox(self) -> "TaskListQuerySet":
        return self.filter(is_inbox=True)

    def with_active_counts(self) -> "TaskListQuerySet":
        """Each list with ``active_count``, its live tasks not yet done.

        A scalar subquery per list, not a join with ``GROUP BY``: each count
        is read from a small partial index of active tasks
        (``task_list_active_idx``) instead of visiting every task of the
        owner, done ones included (a list page of the user with 10,000
        tasks spent most of its time there).
        """
        Task = self.model._meta.get_field("tasks").related_model
        if self._owner is None:  # the admin's
            tasks = Task.unscoped.filter(deleted_at__isnull=True)
        else:
            tasks = Task.objects.for_user(self._owner)
        active = tasks.filter(list=models.OuterRef("pk"), completed=False)
        return self.annotate(active_count=_count_of(active.order_by()))

    def navigation(self, tasks, clock) -> "TaskListQuerySet":
        """The lists with their active counts, the active tasks due today
        (or before) and in the coming days as of ``clock``, and the counters
        of ``tasks`` (the page's filter: ``counts_of()`` reads them), so a
        page's navigation and counters come in one query.

        All but the lists' counts ride on every row as scalar subqueries,
        which the database computes once.
        """
        Task = self.model._meta.get_field("tasks").related_model
        active = Task.objects.for_user(self._owner).active().order_by()
        return self.with_active_counts().annotate(
            tasks_counts=_counts_of(tasks.order_by()),
            due_today=_count_of(active.filter(dates.due("today", clock))),
            due_upcoming=_count_of(active.filter(dates.due("upcoming", clock))),
        )

    def create_unless_taken(self, name: str):
        """A new list named ``name``, or None if the owner has one of that
        name (ignoring case) already.

        One ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite: ``INSERT OR
        IGNORE``): the unique constraint decides, so two requests racing
        cannot make two, and no error has to be caught.
        """
        self._require_scope()
        task_list = self.model(user=self._owner, name=name)
        opts = self.model._meta
        fields = [field for field in opts.local_concrete_fields if field != opts.pk]
        rows = self._insert(
            [task_list],
            fields,
            returning_fields=[opts.pk],
            on_conflict=OnConflict.IGNORE,
            using=self.db,
        )
        if not rows or rows[0] is None:  # the name was taken
            return None
        task_list.pk = rows[0][0]
        task_list._state.adding = False
        task_list._state.db = self.db
        return task_list

    def delete_list(self, pk):
        """Delete a list that is not the Inbox, and return it (its name), or
        None if there is no such list. Its tasks must have moved first
        (``TaskQuerySet.trash_list()``), or the database refuses.

        One ``DELETE ... RETURNING``, compiled by Django as ``_raw_delete()``
        would run it: the list has no other dependents and no signals.
        """
        sql, params = self._compiled_delete(pk)
        connection = connections[self.db]
        opts = self.model._meta
        fields = [opts.pk, opts.get_field("name")]
        returning = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"{sql} RETURNING {returning}", params)
            row = cursor.fetchone()
        return None if row is None else self.model(pk=row[0], name=row[1])

    def _compiled_delete(self, pk):
        """The ``DELETE`` of the list ``pk`` unless it is the Inbox, as
        ``_raw_delete()`` would run it: its SQL and parameters."""
        self._require_scope()
        query = self.filter(pk=pk, is_inbox=False).query.clone()
        query.__class__ = DeleteQuery
        return query.get_compiler(self.db).as_sql()

    def rename(self, pk, name: str):
        """Rename the list ``pk``: the list as saved, with ``active_count``,
        or None if the owner has no such list. ``NameTaken`` if another of
        the owner's lists has that name (ignoring case).

        One ``UPDATE ... RETURNING`` (as ``TaskQuerySet.update_returning()``):
        the API answers a rename with the list, and reading it back would
        cost a second round trip. The unique constraint decides whether the
        name is taken, in the UPDATE itself (as ``create_unless_taken()``'s
        INSERT): a read before it would cost a round trip and could not rule
        out a concurrent twin.
        """
        self._require_scope()
        if self._owner is None:
            raise UnscopedQueryError("rename() needs a for_user() queryset.")
        query = self.filter(pk=pk).query.chain(UpdateQuery)
        query.add_update_values({"name": name})
        compiler = query.get_compiler(self.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # an id outside the column's range matches nothing
            return None
        # with_active_counts()'s number, as a scalar subquery on the row.
        counted = self.with_active_counts().query
        count_sql, count_params = counted.get_compiler(self.db).compile(
            counted.annotations["active_count"]
        )
        opts = self.model._meta
        fields = opts.concrete_fields
        connection = compiler.connection
        returning = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        try:
            with recoverable(self.db), connection.cursor() as cursor:
                cursor.execute(
                    f"{sql} RETURNING {returning}, {count_sql}",
                    (*params, *count_params),
                )
                row = cursor.fetchone()
        except IntegrityError:
            raise NameTaken(name) from None
        if row is None:
            return None
        columns = [field.get_col(opts.db_table) for field in fields]
        converters = compiler.get_converters(columns)
        [*values, active_count] = next(compiler.apply_converters([row], converters))
        task_list = self.model.from_db(
            self.db, [field.attname for field in fields], values
        )
        task_list.active_count = active_count
        return task_list


def counts_of(navigation) -> dict[str, int] | None:
    """The counters that ride on the evaluated ``navigation()`` rows."""
    if not navigation:
        return None
    all_count, active = navigation[0].tasks_counts
    return {"all": all_count, "active": active, "completed": all_count - active}


class TaskQuerySet(OwnedQuerySet):
    def update(self, **kwargs):
        if "completed" in kwargs:
            # Completing a recurring task adds the next one of its series:
            # the rows are needed to know which (a few columns each).
            return len(self._update_returning(kwargs, ["completed", "recurrence"]))
        return super(TaskQuerySet, self._into_own_list(kwargs)).update(
            **_stamped(kwargs)
        )

    def _into_own_list(self, values: dict) -> "TaskQuerySet":
        """This queryset, matching no row if ``values`` move tasks to a list
        that is not their owner's, so such a move changes nothing.

        The database refuses such a task anyway (a task and its list have
        the same owner: migration 0003); this keeps it from being tried.
        """
        list_id = values.get("list_id")
        if list_id is None or hasattr(list_id, "resolve_expression"):
            return self
        if self._owner is None:  # the admin's: the database checks the owner
            return self
        return self.filter(Exists(self._lists().filter(pk=list_id)))

    def _lists(self):
        from .models import TaskList

        return TaskList.objects.for_user(self._owner)

    def create(self, **values):
        """Add a task for the owner to their list ``list_id``, else to their
        Inbox; raises ``TaskList.DoesNotExist`` if ``list_id`` is not theirs.

        One ``INSERT ... SELECT``: the statement that writes the task also
        finds its list, so the Inbox costs no query of its own and another
        user's list inserts nothing.
        """
        self._require_scope()
        if self._owner is None:
            return super().create(**values)
        if "list" in values:
            values["list_id"] = values.pop("list").pk
        list_id = values.pop("list_id", None)
        lists = self._lists()
        lists = lists.inbox() if list_id is None else lists.filter(pk=list_id)
        task = self.model(**{**values, "user": self._owner})
        task.updated_at = task.created_at

        connection = connections[self.db]
        qn = connection.ops.quote_name
        opts = self.model._meta
        fields = [
            field
            for field in opts.local_concrete_fields
            if not (field.primary_key or field.generated or field.attname == "list_id")
        ]
        chosen, chosen_params = (
            lists.order_by().values(list_id=F("pk")).query.sql_with_params()
        )
        # Names quoted by the backend, values as parameters.
        sql = (
            f"INSERT INTO {qn(opts.db_table)} "  # noqa: S608
            f"({', '.join(qn(field.column) for field in fields)}, {qn('list_id')}) "
            f"SELECT {', '.join(['%s'] * len(fields))}, {qn('chosen')}.{qn('list_id')} "
            f"FROM ({chosen}) {qn('chosen')} "
            f"RETURNING {qn(opts.pk.column)}, {qn('list_id')}"
        )
        params = [
            field.get_db_prep_save(getattr(task, field.attname), connection)
            for field in fields
        ]
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [*params, *chosen_params])
            row = cursor.fetchone()
        if row is None:
            raise lists.model.DoesNotExist("No such list.")
        task.pk, task.list_id = row
        task._state.adding = False
        task._state.db = self.db
        return task

    def bulk_create(self, objs, *args, **kwargs):
        """As Django's, with tasks given no list put in their owner's Inbox."""
        objs = list(objs)
        if self._owner is not None and any(obj.list_id is None for obj in objs):
            inbox = self._lists().inbox().values_list("pk", flat=True).get()
            for obj in objs:
                if obj.list_id is None:
                    obj.list_id = inbox
        return super().bulk_create(objs, *args, **kwargs)

    def for_user(self, user) -> "TaskQuerySet":
        """The live tasks of ``user``: the one door to tasks."""
        return self._owned_by(user).filter(deleted_at__isnull=True)

    def trash_for(self, user) -> "TaskQuerySet":
        """The tasks ``user`` deleted within the last ``TRASH_DAYS`` days.

        Older ones are gone for good, whether or not ``purge_trash`` has run.
        """
        return self._owned_by(user).filter(deleted_at__gte=trash_cutoff())

    # Filters.

    def in_list(self, list_id) -> "TaskQuerySet":
        return self if list_id is None else self.filter(list_id=list_id)

    def due_in(self, view: str | None, clock) -> "TaskQuerySet":
        """The tasks in due view ``view`` (``dates.DUE_VIEWS``) as of
        ``clock``, soonest first; any other ``view`` leaves them as they are."""
        if view not in dates.DUE_VIEWS:
            return self
        return self.filter(dates.due(view, clock)).order_by(*dates.DUE_ORDER)

    def search(self, q: str | None) -> "TaskQuerySet":
        """The tasks matching ``q``, best first (``tasks.search``)."""
        return search.search(self, q)

    def active(self) -> "TaskQuerySet":
        return self.filter(completed=False)

    def completed(self) -> "TaskQuerySet":
        return self.filter(completed=True)

    def with_status(self, status: str) -> "TaskQuerySet":
        if status == "active":
            return self.active()
        if status == "completed":
            return self.completed()
        return self

    def counts(self) -> dict[str, int]:
        """All, active and completed tasks, counted in one query."""
        return self.aggregate(
            all=Count("pk"),
            active=Count("pk", filter=Q(completed=False)),
            completed=Count("pk", filter=Q(completed=True)),
        )

    def page_rows(self, status: str, number: int, per_page: int) -> "TaskQuerySet":
        """The rows of page ``number`` of the tasks with ``status``."""
        rows = self.with_status(status).flagging_descriptions()
        return rows[(number - 1) * per_page : number * per_page]

    def flagging_descriptions(self) -> "TaskQuerySet":
        """With ``has_description``: a row shows whether its task has one, and
        a boolean from the database keeps the descriptions themselves there."""
        return self.annotate(has_description=~Q(description=""))

    def page_from(self, rows, counts: dict, status: str, number: int, per_page: int):
        """Page ``number`` of these tasks with ``status``, from its evaluated
        ``page_rows()`` and the ``counts`` of these tasks.

        Only a number past the end asks again, for the last page.
        """
        paginator = Paginator(
            self.with_status(status).flagging_descriptions(), per_page
        )
        paginator.count = counts[status]
        if rows or number == 1:
            return Page(list(rows), number, paginator)
        return paginator.get_page(number)

    # Domain verbs: each one SQL statement, race-free. update() stamps
    # updated_at, so every verb moves it without saying so.

    def toggle(self, pk) -> int:
        """Flip ``completed`` in one UPDATE; returns 1, or 0 if not found."""
        return self.filter(pk=pk).update(**TOGGLED)

    def toggle_returning(self, pk):
        """Flip ``completed``; the task as saved, or None if not found."""
        return self.update_returning(pk, **TOGGLED)

    def update_returning(self, pk, **values):
        """Update one task and return it as saved, or None if not found.

        The API answers a change with the task: reading it back in a second
        query would cost a round trip and could see a concurrent change
        instead of this one.
        """
        self._require_scope()
        if self._owner is None:
            raise UnscopedQueryError("update_returning() needs a for_user() queryset.")
        rows = self.filter(pk=pk)._update_returning(values)
        return rows[0] if rows else None

    def _update_returning(self, values: dict, fields=None) -> list:
        """``update(**values)``, returning the rows as saved (``fields`` only).

        A write that completes a repeating task also adds the next task of
        its series, in the same transaction (``_complete_returning()``).
        """
        if "completed" not in values:
            return self._returning(values, fields)
        if connections[self.db].vendor == "postgresql":
            return self._complete_returning(values)
        # SQLite has no data-modifying WITH, and no network for a transaction
        # to cost a round trip on: the two statements share one. savepoint=False
        # because a half-done completion should fail its caller's transaction.
        with transaction.atomic(using=self.db, savepoint=False):
            tasks = self._returning(values, fields)
            self._continue_series(tasks)
        return tasks

    def _returning(self, values: dict, fields=None, *, unchanged=None) -> list:
        """``update(**values)`` as one ``UPDATE ... RETURNING`` statement
        (PostgreSQL, SQLite 3.35+): the rows as saved, ``fields`` only.

        Django 5.2 has no RETURNING for updates, so the UPDATE is compiled by
        Django (the statement ``update()`` would run) and only the RETURNING
        clause is added here.

        With ``unchanged`` (a queryset; PostgreSQL only), the same statement
        also reads those rows, untouched, as they were: each task returned
        then has ``changed`` True or False.
        """
        try:
            sql, params, compiler = self._compiled_update(values)
        except EmptyResultSet:  # an id outside the column's range matches nothing
            return []
        opts = self.model._meta
        fields = [
            field
            for field in opts.concrete_fields
            if (fields is None and not field.generated)
            or (fields is not None and field.attname in fields)
            or field.primary_key
        ]
        names = [field.attname for field in fields]
        connection = compiler.connection
        returning = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        sql = f"{sql} RETURNING {returning}"
        if unchanged is not None:
            read = unchanged.order_by().values_list(*names)
            read_sql, read_params = read.query.sql_with_params()
            sql = (
                f"WITH changed AS ({sql}) SELECT *, true FROM changed "  # noqa: S608
                f"UNION ALL SELECT *, false FROM ({read_sql}) unchanged"
            )
            params = (*params, *read_params)
            names.append("changed")
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return self._from_rows(rows, fields, names, compiler)

    def _from_rows(self, rows, fields, names, compiler) -> list:
        """Tasks from raw rows of ``fields`` (and an extra column or two,
        set as attributes): the backend's converters turn SQLite's text and
        integers back into datetimes and booleans, as a SELECT would."""
        opts = self.model._meta
        columns = [field.get_col(opts.db_table) for field in fields]
        converters = compiler.get_converters(columns)
        width = len(fields)
        tasks = []
        for row in rows:
            values = next(compiler.apply_converters([row[:width]], converters))
            task = self.model.from_db(self.db, names[:width], values)
            for name, extra in zip(names[width:], row[width:], strict=True):
                setattr(task, name, extra)
            tasks.append(task)
        return tasks

    def _compiled_update(self, values: dict):
        """The ``UPDATE`` that ``update(**values)`` would run: its SQL, its
        parameters and its compiler."""
        self._require_scope()
        query = self._into_own_list(values).query.chain(UpdateQuery)
        query.add_update_values(_stamped(values))
        compiler = query.get_compiler(self.db)
        compiler.pre_sql_setup()  # as execute_sql() does: joins become a subquery
        sql, params = compiler.as_sql()
        return sql, params, compiler

    @staticmethod
    def _completing_a_series(values: dict) -> Q | None:
        """The rows that ``values`` complete and that repeat, as a filter, or
        None if ``values`` complete nothing that repeats."""
        completed = values["completed"]
        if completed is False or values.get("recurrence", True) == "":
            return None
        repeats = Q() if "recurrence" in values else ~Q(recurrence="")
        if isinstance(completed, Q):  # a toggle
            becomes_done = completed
        elif getattr(completed, "conditional", False):  # Mark all's EXISTS
            becomes_done = Q(completed)
        else:
            becomes_done = Q()
        return Q(completed=False) & repeats & becomes_done

    def _complete_returning(self, values: dict, attempts: int = 3) -> list:
        """PostgreSQL: ``_returning(values)``, where completing a repeating
        task and adding its next one is one statement, so both happen or
        neither.

        The first statement updates every row but those, and reads those as
        they are (one round trip, whatever it finds). Each of those is then
        completed by a data-modifying ``WITH`` that also inserts its next
        task, computed here from the row read (the rule is expanded in
        Python): a plain toggle stays one statement, a repeating one costs
        two. The completion only applies if the row has not changed since it
        was read (``updated_at``); a row that has is tried again.
        """
        series = self._completing_a_series(values)
        if series is None:
            return self._returning(values)
        unchanged = self._into_own_list(values).filter(series)
        rows = self.exclude(series)._returning(values, unchanged=unchanged)
        tasks = [task for task in rows if task.changed]
        pending = [task for task in rows if not task.changed]
        clocks = self._clocks(pending)
        missed = []
        for task in pending:
            for name, value in values.items():
                if not hasattr(value, "resolve_expression"):
                    setattr(task, name, value)  # the series continues as edited
            following = self._next_of(task, clocks[task.user_id])
            done = self.filter(pk=task.pk, updated_at=task.updated_at)
            completed = done._complete_one(values, following)
            if completed is None:
                missed.append(task.pk)
            else:
                tasks.append(completed)
        if missed and attempts > 1:
            tasks += self.filter(pk__in=missed)._complete_returning(
                values, attempts - 1
            )
        return tasks

    def _complete_one(self, values: dict, following):
        """PostgreSQL: update the one task of this queryset with ``values``
        and, if that completed it, insert ``following`` (its next task, or
        None): one statement. The task as saved, with ``next_task`` if one
        was added, or None if the queryset matched no row."""
        if following is None:
            rows = self._returning(values)
            return rows[0] if rows else None
        try:
            sql, params, compiler = self._compiled_update(values)
        except EmptyResultSet:
            return None
        connection = compiler.connection
        qn = connection.ops.quote_name
        opts = self.model._meta
        fields = [field for field in opts.concrete_fields if not field.generated]
        inserted = [field for field in fields if not field.primary_key]
        following_params = [
            field.get_db_prep_save(getattr(following, field.attname), connection)
            for field in inserted
        ]
        # ON CONFLICT DO NOTHING: the unique (series_id, sequence) lets only
        # one completion of a task add its next one, however many race.
        sql = (
            f"WITH done AS ({sql} RETURNING "  # noqa: S608
            f"{', '.join(qn(field.column) for field in fields)}), "
            f"added AS (INSERT INTO {qn(opts.db_table)} "
            f"({', '.join(qn(field.column) for field in inserted)}) "
            f"SELECT {', '.join(['%s'] * len(inserted))} FROM done "
            f"WHERE done.{qn('completed')} ON CONFLICT DO NOTHING "
            f"RETURNING {qn(opts.pk.column)}) "
            f"SELECT *, (SELECT {qn(opts.pk.column)} FROM added) FROM done"
        )
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, (*params, *following_params))
            rows = cursor.fetchall()
        names = [*(field.attname for field in fields), "next_pk"]
        tasks = self._from_rows(rows, fields, names, compiler)
        if not tasks:
            return None
        [task] = tasks
        if task.next_pk is not None:
            self._link_next(task, following, task.next_pk)
        return task

    def _link_next(self, task, following, pk) -> None:
        """``following``, inserted as ``pk``, becomes ``task.next_task``: the
        page shows the task that a completion added."""
        following.pk = pk
        following._state.adding = False
        following._state.db = self.db
        task.next_task = following

    def _clocks(self, tasks) -> dict:
        """The clock of each owner of ``tasks``, in their time zone: the
        owner's own for a scoped queryset, else read (the admin's)."""
        from django.contrib.auth import get_user_model

        owners = {task.user_id for task in tasks}
        if self._owner is not None and owners <= {self._owner.pk}:
            users = {self._owner.pk: self._owner}
        else:
            users = (
                get_user_model()
                ._default_manager.select_related("profile")
                .in_bulk(owners)
            )
        return {
            pk: dates.Clock.in_zone(dates.zone_of(user)) for pk, user in users.items()
        }

    def _next_of(self, task, clock):
        """The next task of ``task``'s series, completed now as ``clock``
        tells, due as its rule says in its owner's time zone; None if the
        series has ended (or its rule is one the checks would refuse today)."""
        try:
            when = recurrence.next_due(
                task.recurrence,
                task.recur_from,
                task.due_date,
                task.due_time,
                completed_on=clock.today,
                today=clock.today,
                zone=clock.zone,
                completed_count=task.sequence + 1,
            )
        except ValidationError:
            return None
        if when is None:
            return None
        return self.model(
            user_id=task.user_id,
            list_id=task.list_id,
            title=task.title,
            description=task.description,
            due_date=when[0],
            due_time=when[1],
            recurrence=task.recurrence,
            recur_from=task.recur_from,
            series_id=task.series_id or task.pk,
            sequence=task.sequence + 1,
        )

    def _continue_series(self, tasks) -> None:
        """SQLite: add the next task of every repeating task among ``tasks``
        that is now completed (the caller holds the transaction).

        The next task has its series and the next place in it, which are
        unique together: completing the same task twice, or twice at once,
        or an old one again, adds nothing more.
        """
        done = [t for t in tasks if t.completed and t.recurrence]
        if not done:
            return
        if "title" in done[0].get_deferred_fields():  # only what update() read
            everything = self.model.unscoped.filter(pk__in=[t.pk for t in done])
            done = list(everything)
        clocks = self._clocks(done)
        pairs = [(task, self._next_of(task, clocks[task.user_id])) for task in done]
        pairs = [(task, following) for task, following in pairs if following]
        if not pairs:
            return
        # INSERT ... ON CONFLICT DO NOTHING (SQLite: INSERT OR IGNORE),
        # returning the rows it added, so a completed task knows its
        # successor (``next_task``) for the page.
        nexts = [following for _, following in pairs]
        opts = self.model._meta
        fields = [
            field
            for field in opts.local_concrete_fields
            if not (field.primary_key or field.generated)
        ]
        returning = [opts.pk, opts.get_field("series_id"), opts.get_field("sequence")]
        connection = connections[self.db]
        size = connection.ops.bulk_batch_size(fields, nexts) or len(nexts)
        added = {}
        for start in range(0, len(nexts), size):
            rows = self.model.unscoped._insert(
                nexts[start : start + size],
                fields,
                returning_fields=returning,
                on_conflict=OnConflict.IGNORE,
                using=self.db,
            )
            added.update({(row[1], row[2]): row[0] for row in rows if row})
        for task, following in pairs:
            pk = added.get((following.series_id, following.sequence))
            if pk is not None:
                self._link_next(task, following, pk)

    def complete(self) -> int:
        return self.update(completed=True)

    def reopen(self) -> int:
        return self.update(completed=False)

    def complete_all(self) -> int:
        return self.active().complete()

    def toggle_all(self) -> int:
        """Complete every task; if all already were, make them all active."""
        # One UPDATE: the subquery sees the rows as they were before it.
        return self.update(completed=models.Exists(self.active().values("pk")))

    # Deleting moves tasks to the trash; each verb returns the tasks it moved
    # (id and title, for the message that names them and its Undo button).

    def clear_completed(self) -> list:
        return self.completed().move_to_trash()

    def trash_one(self, pk) -> list:
        """Move one task to the trash: ``[task]``, or ``[]`` if not found."""
        return self.filter(pk=pk).move_to_trash()

    def move_to_trash(self) -> list:
        return self._update_returning({"deleted_at": timezone.now()}, ["title"])

    def restore(self, **values) -> list:
        """Bring these trashed tasks back (with ``values``, such as another
        ``list_id``); returns them (id and title)."""
        return self._update_returning({"deleted_at": None, **values}, ["title"])

    def delete_rows(self) -> int:
        """Delete these tasks for good with one DELETE statement; the count.

        QuerySet.delete() runs Django's deletion collector inside a
        transaction, whose BEGIN and COMMIT are two more round trips to Neon.
        Tasks have no dependent rows and no delete signals (a test pins
        both), so the DELETE alone is the whole job.
        """
        return self._raw_delete(self.db)

    def bulk_complete(self, ids) -> int:
        """Complete the caller's tasks among ``ids``; others are ignored."""
        return self.filter(pk__in=ids).complete()

    def update_fields_if_unchanged(self, pk, version, **values) -> int:
        """Update a task only if ``updated_at`` still equals ``version``.

        Returns 1 on success and 0 if the task is gone or changed since the
        caller read it: a lost update is detected by the database, in the same
        statement that would have written it.
        """
        return self.filter(pk=pk, updated_at=version).update(**values)

    def update_if_unchanged_returning(self, pk, version, **values):
        """``update_fields_if_unchanged()`` returning the task as saved, or
        None if it is gone or changed since ``version`` (the list's inline
        edit answers with the row, without reading it again)."""
        return self.filter(updated_at=version).update_returning(pk, **values)

    def trash_if_unchanged(self, pk, version) -> list:
        """``trash_one()``, only if the task still has ``version``: emptying
        a title that someone changed meanwhile must not throw their change
        away."""
        return self.filter(updated_at=version).trash_one(pk)

    def transfer_to(self, new_owner) -> int:
        """Give these tasks to ``new_owner``, into their Inbox; one UPDATE,
        so all or none."""
        from .models import TaskList

        inbox = TaskList.unscoped.filter(user=new_owner, is_inbox=True)
        return self.update(user=new_owner, list_id=Subquery(inbox.values("pk")))

    def delete_list(self, list_id):
        """Delete the owner's list ``list_id``, never the Inbox, its tasks
        (trashed ones too) moved to the Inbox and the trash: returns the
        list's name and the tasks this moved to the trash (for the message
        and its Undo), or ``(None, [])`` if there is no such list.

        On PostgreSQL one statement, a data-modifying ``WITH``: the tasks'
        ``UPDATE``, then the list's ``DELETE``, whose foreign keys are checked
        once both are done. SQLite has no such ``WITH`` (nor a network to
        save a round trip on): there, two statements in one transaction.
        Either way a task added to the list meanwhile makes it fail whole
        (``IntegrityError``).
        """
        now = timezone.now()
        inbox = Subquery(self._lists().inbox().values("pk"))
        moved = self.model.objects.all()._owned_by(self._owner)
        moved = moved.filter(list_id=list_id).exclude(list_id=inbox)
        values = {
            "list_id": inbox,
            "deleted_at": Coalesce(
                "deleted_at", Value(now, output_field=models.DateTimeField())
            ),
        }
        lists = self._lists()
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            with transaction.atomic(using=self.db):
                rows = moved._update_returning(values, ["title", "deleted_at"])
                deleted = lists.delete_list(list_id)
            trashed = [task for task in rows if task.deleted_at == now]
            return (deleted.name, trashed) if deleted else (None, [])
        update_sql, update_params, _ = moved._compiled_update(values)
        delete_sql, delete_params = lists._compiled_delete(list_id)
        sql = (
            f"WITH moved AS ({update_sql} RETURNING id, title, deleted_at) "  # noqa: S608
            f"{delete_sql} RETURNING name, (SELECT json_agg(json_build_array("
            "id, title) ORDER BY id) FROM moved WHERE deleted_at = %s)"
        )
        with (
            transaction.mark_for_rollback_on_error(using=self.db),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [*update_params, *delete_params, now])
            row = cursor.fetchone()
        if row is None:  # no such list: the UPDATE matched no task either
            return None, []
        name, pairs = row
        return name, [self.model(pk=pk, title=title) for pk, title in pairs or []]
