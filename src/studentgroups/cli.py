"""The `studentgroups` command: migrate, serve, instances, keys, roster and results imports, demo data."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console
from rich.markup import escape

from studentgroups.roles import Role

# Everything else is imported by the command that needs it: `studentgroups --help` and a
# mistyped command answer before the service, its database layer and numpy are loaded (measured
# in bench/cli_start.py).
if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy import Select
    from sqlalchemy.orm import Session, sessionmaker

    from studentgroups import grouping
    from studentgroups.audit import service as audit
    from studentgroups.csv_import import OnProgress, RowProblem
    from studentgroups.exports.service import CsvLayout

app = typer.Typer(
    help="studentgroups: group management for learning platforms.\n\n"
    "The database is STUDENTGROUPS_DATABASE_URL (from the environment, or a .env file in the working "
    "directory); without one, the embedded SQLite file $XDG_DATA_HOME/studentgroups/studentgroups.db "
    "(~/.local/share/... without XDG_DATA_HOME), the same wherever the command runs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no markdown parser to load (bench/cli_start.py)
)
instance_app = typer.Typer(help="Instances (tenants).", no_args_is_help=True)
key_app = typer.Typer(help="API keys of an instance.", no_args_is_help=True)
roster_app = typer.Typer(help="Module rosters and guests.", no_args_is_help=True)
results_app = typer.Typer(help="Learners' results.", no_args_is_help=True)
student_app = typer.Typer(help="Students' data-subject requests.", no_args_is_help=True)
grouping_app = typer.Typer(
    help="Groupings (the groups under a parent and their members), to and from CSV.", no_args_is_help=True
)
app.add_typer(instance_app, name="instance")
app.add_typer(key_app, name="key")
app.add_typer(roster_app, name="roster")
app.add_typer(results_app, name="results")
app.add_typer(student_app, name="student")
app.add_typer(grouping_app, name="grouping")
oneroster_app = typer.Typer(help="1EdTech OneRoster 1.2 CSV bundles.", no_args_is_help=True)
app.add_typer(oneroster_app, name="oneroster")

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

InstanceOption = Annotated[int, typer.Option("--instance", "-i", help="The instance's id.")]


class DatabaseNotReady(Exception):
    """The command's database is missing or behind the migrations: what to do, in one line."""


def _where(database_url: str) -> str:
    return database_url.rsplit("@", maxsplit=1)[-1]  # never a password


def _ready_database_url(*, serving: bool = False) -> str:
    """The configured database, if it exists and is migrated; else DatabaseNotReady. A SQLite
    file is never created here: only `migrate` makes one.

    `serving`: a database that does not answer now does not keep the service from starting (it
    answers 503 until the database is back, and `/readyz` says so); one that answers with an old
    schema does.
    """
    from sqlalchemy.exc import DBAPIError

    import studentgroups.tables  # noqa: F401 - every table, so that foreign keys resolve
    from studentgroups.db import create_db_engine
    from studentgroups.migrations import schema_state
    from studentgroups.settings import get_settings

    settings = get_settings()
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise DatabaseNotReady(f"no database at {path}: run `studentgroups migrate` to make it")
    engine = create_db_engine(settings)  # with the connect timeout: a silent server never hangs it
    try:
        with engine.connect() as connection:
            state = schema_state(connection)
    except DBAPIError:
        if not serving:
            raise
        err.print(
            f"[yellow]the database at {_where(url)} does not answer now: serving anyway "
            "(503 until it does)[/]"
        )
        return url
    finally:
        engine.dispose()
    if not state.up_to_date:
        raise DatabaseNotReady(state.advice(f"at {_where(url)}"))
    return url


def _session_factory(*, read_only: bool = False) -> sessionmaker[Session]:
    from studentgroups.db import create_db_engine, create_session_factory
    from studentgroups.settings import get_settings

    _ready_database_url()
    return create_session_factory(create_db_engine(get_settings()), read_only=read_only)


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest migration."""
    from studentgroups.migrations import upgrade_database
    from studentgroups.settings import get_settings

    settings = get_settings()
    if settings.database_url.startswith("sqlite:///") and not settings.database_url.startswith(
        "sqlite:///:memory:"
    ):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.database_url)
    err.print(f"database is up to date: {settings.database_url.split('@')[-1]}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (use PostgreSQL for more than 1).")
    ] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from studentgroups.operations.process import MALLOC_ARENAS
    from studentgroups.settings import get_settings

    settings = get_settings()
    _ready_database_url(serving=True)  # never serve a schema the service cannot use: say what to do
    if workers > 1:
        # Worker processes start with at most two malloc arenas (the operator's choice wins): with
        # glibc's default, freed memory stayed spread over the threads' arenas and RSS crept up.
        # A single worker is this process, already started: the app's start-up calls mallopt.
        os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    if workers > 1 and settings.is_sqlite:
        err.print("[yellow]several workers on SQLite share one file lock: PostgreSQL is the way to scale[/]")
    uvicorn.run(
        "studentgroups.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,  # ours is written by studentgroups.operations, with the request id
        # A worker imports the whole app before it answers the supervisor's health check; on a
        # busy machine that took 8-12 s, past uvicorn's 5 s, and the workers were killed in a loop.
        timeout_worker_healthcheck=30,
        timeout_keep_alive=settings.keep_alive_seconds,  # uvicorn's 5 s reset clients mid-burst
    )


@instance_app.command("create")
def instance_create(
    name: Annotated[str, typer.Argument(help="The instance's name.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"instance_id": …, "api_key": …} only.')
    ] = False,
) -> None:
    """Create an instance and its first admin key (the key is shown once)."""
    from studentgroups.audit import service as audit
    from studentgroups.db import transaction
    from studentgroups.instances import service as instances

    with transaction(_session_factory()) as session:
        instance, issued = instances.create_instance(session, name=name)
        instance_id, secret = instance.id, issued.secret
        audit.record(session, _cli_write(instance_id, "instance_create"))
    if as_json:
        typer.echo(json.dumps({"instance_id": instance_id, "api_key": secret}))
        return
    out.print(f"instance {instance_id} ({name}) created")
    out.print(f"admin API key (shown once, keep it safe): {secret}")


@instance_app.command("list")
def instance_list() -> None:
    """List the instances."""
    from rich.table import Table

    from studentgroups.db import transaction
    from studentgroups.instances import service as instances

    with transaction(_session_factory(read_only=True)) as session:
        table = Table("id", "name", "created")
        for instance in instances.list_instances(session):
            table.add_row(str(instance.id), instance.name, f"{instance.created_at:%Y-%m-%d %H:%M:%S}")
    out.print(table)


@key_app.command("create")
def key_create(
    instance: InstanceOption,
    role: Annotated[Role, typer.Option(help="admin, staff or read-only.")] = Role.STAFF,
    user: Annotated[
        str | None,
        typer.Option(
            help="The user the key acts as (created if new): admin by default; a learner's own user "
            "with --student."
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    student: Annotated[
        str | None,
        typer.Option(
            help="A learner's key: it acts as this student (a uid) and nothing more "
            "(role read-only or staff)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
) -> None:
    """Create a key (shown once)."""
    from studentgroups.audit import service as audit
    from studentgroups.db import transaction
    from studentgroups.instances import service as instances

    with transaction(_session_factory()) as session:
        issued = instances.create_key(
            session, instance_id=instance, role=role, user_name=user, name=name, student_uid=student
        )
        key_id, secret, user_name = issued.key.id, issued.secret, issued.user.name
        audit.record(session, _cli_write(instance, "key_create"))
    if as_json:
        typer.echo(json.dumps({"id": key_id, "instance_id": instance, "role": role.value, "api_key": secret}))
        return
    out.print(f"key {key_id} ({role.value}, user {user_name}) for instance {instance}: {secret}")
    out.print("shown once: it is stored hashed and cannot be shown again")


@key_app.command("list")
def key_list(instance: InstanceOption) -> None:
    """List an instance's keys (never their secrets)."""
    from rich.table import Table

    from studentgroups.db import transaction
    from studentgroups.instances import service as instances

    with transaction(_session_factory(read_only=True)) as session:
        table = Table("id", "prefix", "role", "user", "name", "created", "revoked")
        for key, user, student_uid in instances.list_keys(session, instance_id=instance):
            revoked = f"{key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else ""
            table.add_row(
                str(key.id),
                key.prefix + "…",
                key.role,
                user.name if student_uid is None else f"{user.name} (learner {student_uid})",
                key.name,
                f"{key.created_at:%Y-%m-%d %H:%M:%S}",
                revoked,
            )
    out.print(table)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id.")], instance: InstanceOption
) -> None:
    """Revoke a key: it answers 401 from its next request on."""
    from studentgroups.audit import service as audit
    from studentgroups.db import transaction
    from studentgroups.instances import service as instances

    with transaction(_session_factory()) as session:
        instances.revoke_key(session, instance_id=instance, key_id=key_id)
        audit.record(session, _cli_write(instance, "key_revoke"))
    out.print(f"key {key_id} of instance {instance} revoked")


def _cli_write(instance_id: int, operation: str) -> audit.Write:
    """The audit log's account of a write made with this command: who ran it, and the command."""
    from studentgroups.audit import service as audit

    return audit.Write(
        instance_id=instance_id,
        actor=f"cli:{getpass.getuser()}",
        method="CLI",
        path=shlex.join(["studentgroups", *sys.argv[1:]]),
        operation=operation,
    )


def _read_file(file: str) -> tuple[str, bytes]:
    """The name to report a file's problems under, and its bytes (`-` is standard input)."""
    if file == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(file)
    if not path.is_file():
        raise typer.BadParameter(f"no file {file!r}.", param_hint="FILE.csv")
    return file, path.read_bytes()


@contextmanager
def _progress_bars() -> Iterator[OnProgress]:
    """Bars on stderr, one per stage the import reports; yields the function it reports to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield report


def _print_problems(source: str, problems: list[RowProblem]) -> None:
    shown = 200
    for problem in problems[:shown]:
        err.print(f"{source}: {problem}", markup=False, highlight=False, soft_wrap=True)
    if len(problems) > shown:
        err.print(f"{source}: … and {len(problems) - shown} more", markup=False, soft_wrap=True)


@contextmanager
def _refused_file(source: str, *, written_meanwhile: str | None) -> Iterator[None]:
    """A refused file ends the command with its problems on stderr and exit code 1; so does a write
    another client made at the same time (`written_meanwhile` says which; None: the command
    writes no database, and SQLAlchemy, a fifth of a second of start-up, is not loaded)."""
    from studentgroups.csv_import import InvalidCsvFile

    concurrent: tuple[type[Exception], ...] = ()
    if written_meanwhile is not None:
        from sqlalchemy.exc import IntegrityError

        concurrent = (IntegrityError,)
    try:
        yield
    except InvalidCsvFile as error:
        _print_problems(source, error.problems)
        err.print(f"[red]error:[/] {error.detail}", soft_wrap=True)
        raise typer.Exit(1) from None
    except concurrent:
        err.print(
            f"[red]error:[/] {written_meanwhile} at the same time; nothing was written. "
            "Run the import again.",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


@roster_app.command("import")
def roster_import_command(
    module: Annotated[
        str, typer.Argument(help="The module's code (e.g. CS1010), or its id.", metavar="MODULE")
    ],
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV file with a header row: uid, and optionally name, sexe, date_of_birth, "
            "country_of_residence, city_of_residence, and attribute columns (score, gender, …). "
            "- reads standard input.",
            metavar="FILE.csv",
        ),
    ],
    instance: InstanceOption,
    guests: Annotated[
        bool, typer.Option("--guests", help="Add them to the module's guest group, not its roster.")
    ] = False,
    create_missing: Annotated[
        bool,
        typer.Option(
            "--create-missing/--no-create-missing",
            help="Create the students whose uid is new, with the file's profile (else they are an error).",
        ),
    ] = True,
    numeric: Annotated[
        str,
        typer.Option(
            help="Attribute columns that must hold numbers, comma-separated (the others are typed "
            "by what they hold)."
        ),
    ] = "",
    category: Annotated[
        list[str] | None,
        typer.Option(
            help="COLUMN=V1,V2,…: an attribute column that may hold only these values (repeatable)."
        ),
    ] = None,
) -> None:
    """Put a CSV file's students on a module's roster, all or none: every row is checked first.

    Columns other than uid and the profile are attributes, set on every student of the file
    (numbers where a column holds only numbers), beside the attributes each already has."""
    from studentgroups.audit import service as audit
    from studentgroups.csv_import import decode_csv
    from studentgroups.db import transaction
    from studentgroups.modules import roster_import

    source, data = _read_file(file)
    with (
        _refused_file(source, written_meanwhile="students or memberships of this module were written"),
        _progress_bars() as report,
    ):
        entries = roster_import.parse_roster_csv(
            decode_csv(data, roster_import.ROSTER_FILE),
            declared=roster_import.Declared(
                numeric=[n.lower() for n in _split(numeric)], categories=_categories(category or [])
            ),
            on_progress=report,
        )
        with transaction(_session_factory()) as session:
            result = roster_import.import_roster(
                session,
                instance_id=instance,
                module=module,
                entries=entries,
                guests=guests,
                create_missing=create_missing,
                on_progress=report,
            )
            audit.record(session, _cli_write(instance, "roster_import"))
    out.print(result.summary())


def _categories(declared: list[str]) -> dict[str, list[str]]:
    """`--category gender=F,M,X` as {"gender": ["F", "M", "X"]}; BadParameter when not COLUMN=V,…."""
    categories: dict[str, list[str]] = {}
    for text in declared:
        column, _, values = text.partition("=")
        if not column.strip() or not _split(values):
            raise typer.BadParameter(f"{text!r} is not COLUMN=VALUE,VALUE,….", param_hint="--category")
        categories.setdefault(column.strip().lower(), []).extend(_split(values))
    return categories


@roster_app.command("export")
def roster_export_command(
    module: Annotated[
        str, typer.Argument(help="The module's code (e.g. CS1010), or its id.", metavar="MODULE")
    ],
    instance: InstanceOption,
    guests: Annotated[bool, typer.Option("--guests", help="Its guest group, not its roster.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here instead of standard output.")
    ] = None,
) -> None:
    """A module's roster as CSV (as GET /modules/{id}/roster.csv), written as read: the profile's
    columns, then one per attribute; `roster import` reads it back."""
    from studentgroups.exports.service import attribute_keys, roster_layout, roster_statement
    from studentgroups.modules import roster_import
    from studentgroups.modules.service import roster_group_id

    with _session_factory(read_only=True)() as session, _output(output) as out:
        view = roster_import.find_module(session, instance_id=instance, module=module)
        group_id = roster_group_id(view, "guests" if guests else "roster")
        layout = roster_layout(attribute_keys(session, instance_id=instance, group_id=group_id))
        _write_csv(session, out, roster_statement(instance_id=instance, group_id=group_id), layout)


@results_app.command("import")
def results_import_command(
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV file with a header row: uid or student_id, item, score, and optionally "
            "max_score (1 by default) and recorded_at (now by default). - reads standard input.",
            metavar="FILE.csv",
        ),
    ],
    instance: InstanceOption,
) -> None:
    """Store a CSV file's results, all or none: every row is checked first, then one transaction."""
    from studentgroups.audit import service as audit
    from studentgroups.csv_import import decode_csv
    from studentgroups.db import transaction
    from studentgroups.results import csv_import as results_import

    source, data = _read_file(file)
    with (
        _refused_file(source, written_meanwhile="students of this file were removed"),
        _progress_bars() as report,
    ):
        rows = results_import.parse_results_csv(
            decode_csv(data, results_import.RESULTS_FILE), on_progress=report
        )
        with transaction(_session_factory()) as session:
            stored = results_import.import_results(
                session, instance_id=instance, rows=rows, on_progress=report
            )
            audit.record(session, _cli_write(instance, "results_import"))
    out.print(stored.summary())


@results_app.command("export")
def results_export_command(
    instance: InstanceOption,
    item: Annotated[list[str] | None, typer.Option(help="Only this item's results (repeatable).")] = None,
    uid: Annotated[str | None, typer.Option(help="Only this student's results.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here instead of standard output.")
    ] = None,
) -> None:
    """The instance's results as CSV (as GET /results.csv): uid,item,score,max_score,recorded_at,
    written as read; `results import` reads it back."""
    from studentgroups.exports.service import RESULTS_LAYOUT
    from studentgroups.results.service import ResultsMatching, results_statement

    stmt = results_statement(instance_id=instance, matching=ResultsMatching(uid=uid, items=item or ()))
    with _session_factory(read_only=True)() as session, _output(output) as out:
        _write_csv(session, out, stmt, RESULTS_LAYOUT)


@student_app.command("export")
def student_export(
    uid: Annotated[str, typer.Argument(help="The student's uid.")],
    instance: InstanceOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here instead of standard output.")
    ] = None,
) -> None:
    """Everything held about one student, as one JSON document (as GET /students/{id}/export);
    the export is recorded in the audit log."""
    from studentgroups.audit import service as audit
    from studentgroups.db import transaction
    from studentgroups.privacy import export
    from studentgroups.students import service as students

    with transaction(_session_factory()) as session:
        student_id = students.student_id_of_uid(session, instance_id=instance, uid=uid)
        document = export.export_student(session, instance_id=instance, student_id=student_id)
        audit.record(session, _cli_write(instance, "student_export"))
    text = document.model_dump_json(indent=2)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    err.print(f"student {uid!r} of instance {instance} exported to {output}")


@grouping_app.command("export")
def grouping_export(
    group_id: Annotated[int, typer.Argument(help="The parent group's id.", metavar="GROUP_ID")],
    instance: InstanceOption,
    layout: Annotated[
        str, typer.Option(help="own (group_id,group,student_id,uid,name), canvas or moodle.")
    ] = "own",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here instead of standard output.")
    ] = None,
) -> None:
    """The group's sub-groups and their members as CSV (as GET /student_groups/{id}/grouping.csv),
    written as read: canvas for Canvas's group category import, moodle for Moodle's user upload."""
    from studentgroups.exports.service import GROUPING_LAYOUTS, grouping_statement
    from studentgroups.groups.service import get_group
    from studentgroups.siblings import Siblings

    if layout not in GROUPING_LAYOUTS:
        raise typer.BadParameter(
            f"{layout!r} is not one of {', '.join(GROUPING_LAYOUTS)}.", param_hint="--layout"
        )
    chosen = GROUPING_LAYOUTS[layout]  # type: ignore[index]
    with _session_factory(read_only=True)() as session, _output(output) as out:
        parent = get_group(session, instance_id=instance, group_id=group_id)
        _write_csv(session, out, grouping_statement(session, Siblings(None, parent)), chosen)


@grouping_app.command("import")
def grouping_import(
    group_id: Annotated[int, typer.Argument(help="The parent group's id.", metavar="GROUP_ID")],
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV file as an export writes it (own, canvas or moodle columns). - reads standard input.",
            metavar="FILE.csv",
        ),
    ],
    instance: InstanceOption,
) -> None:
    """Put the file's students in the parent's sub-groups by name (made where missing), saved as
    one formation of the parent's history (undoable), all or nothing."""
    from studentgroups.audit import service as audit
    from studentgroups.csv_import import decode_csv
    from studentgroups.db import transaction
    from studentgroups.formations import grouping_import as reader
    from studentgroups.formations import service as formations
    from studentgroups.groups.service import get_group

    source, data = _read_file(file)
    with _refused_file(source, written_meanwhile="the groups under this parent were written"):
        rows = reader.parse_grouping_csv(decode_csv(data, reader.GROUPING_FILE))
        with transaction(_session_factory()) as session:
            parent = get_group(session, instance_id=instance, group_id=group_id)
            saved = formations.import_grouping(
                session, None, parent=parent, rows=rows, request_record={"import": source, "rows": len(rows)}
            )
            audit.record(session, _cli_write(instance, "grouping_import"))
            summary = (
                f"{len(rows)} students in {len(saved.group_ids)} groups under group {group_id} "
                f"({len(saved.created_group_ids)} new groups); formation {saved.id}, undoable"
            )
    out.print(summary)


@oneroster_app.command("import")
def oneroster_import(
    bundle: Annotated[
        Path,
        typer.Argument(
            help="A OneRoster 1.2 CSV bundle: a zip, or a folder, of manifest.csv, classes.csv, users.csv, "
            "enrollments.csv and, when the manifest lists them, courses.csv, academicSessions.csv and "
            "demographics.csv.",
            metavar="BUNDLE",
        ),
    ],
    instance: InstanceOption,
) -> None:
    """Import a OneRoster bundle, all or nothing: classes become modules, student enrollments their
    rosters, teacher enrollments their managers, demographics the students' attributes. Run it again
    with the next bundle: changed rows update, and a student who left a class leaves its roster and
    groups (recorded in the formation history, undoable, and reported)."""
    from studentgroups.audit import service as audit
    from studentgroups.db import transaction
    from studentgroups.oneroster import bundle as reader
    from studentgroups.oneroster import service as oneroster

    if not bundle.exists():
        raise typer.BadParameter(f"no file or folder {str(bundle)!r}.", param_hint="BUNDLE")
    with (
        _refused_file(str(bundle), written_meanwhile="the modules or students of this bundle were written"),
        _progress_bars() as report,
    ):
        checked = reader.read_bundle(reader.open_bundle(bundle), on_progress=report)
        with transaction(_session_factory()) as session:
            result = oneroster.import_bundle(
                session, instance_id=instance, bundle=checked, on_progress=report
            )
            audit.record(session, _cli_write(instance, "oneroster_import"))
    for line in result.summary():
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def _write_csv(session: Session, out: TextIO, stmt: Select[Any], layout: CsvLayout) -> None:
    """The rows of `stmt` as CSV in `layout`, read and written 5,000 at a time (as the API streams them)."""
    import csv

    from studentgroups.db import for_whole_joins

    for_whole_joins(session)
    result = session.connection().execute(stmt.execution_options(yield_per=5_000))
    keys = list(result.keys())
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(layout.header)
    for rows in result.partitions():
        writer.writerows(layout.cells(dict(zip(keys, row, strict=True))) for row in rows)


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or the file at `path` (UTF-8, written as it goes)."""
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        yield handle


def _split(names: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in names.split(",") if n.strip())


def _protected(pairs: list[str], no_isolation: str) -> dict[str, list[str]]:
    columns = {c.lower() for c in _split(no_isolation)}
    protected: dict[str, list[str]] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        column = column.strip().lower()
        if not sep or column not in columns:
            raise typer.BadParameter(
                f"{pair!r}: COLUMN=VALUE, the column one of --no-isolation's.", param_hint="--protect"
            )
        protected.setdefault(column, []).append(value)
    return protected


@app.command("form")
def form_command(
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV roster: a header row with uid and the students' attributes. - reads standard input.",
            metavar="ROSTER.csv",
        ),
    ],
    groups: Annotated[int | None, typer.Option("--groups", min=1, help="Make this many groups.")] = None,
    size: Annotated[
        int | None, typer.Option("--size", min=1, help="Make groups of this many members.")
    ] = None,
    prevent_small_last_group: Annotated[
        bool,
        typer.Option(help="With --size: one group fewer when the last would be too small (Moodle's rule)."),
    ] = False,
    names: Annotated[str, typer.Option(help="Group names: @ gives A, B, …; # gives 1, 2, ….")] = "Group @",
    strategy: Annotated[str, typer.Option(help="random or balanced.")] = "random",
    numeric: Annotated[str, typer.Option(help="Columns to balance (numbers), comma-separated.")] = "",
    categorical: Annotated[str, typer.Option(help="Columns to spread evenly, comma-separated.")] = "",
    no_isolation: Annotated[
        str, typer.Option(help="Columns whose minority values are never alone in a group, comma-separated.")
    ] = "",
    protect: Annotated[
        list[str] | None,
        typer.Option(
            help="COLUMN=VALUE: a value of a --no-isolation column to protect (repeatable); a column "
            "named by none protects the values held by fewer than --minority-share of the students."
        ),
    ] = None,
    minority_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="With --no-isolation: the share under which a value is protected (a third by default).",
        ),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="balanced: means (the group means alike), means_and_spreads (means and SDs alike), "
            "spreads (the SDs first), or the SDs' weight from 0 to 10 beside the means; default 0.1 "
            "for groups under 10, else 0.3."
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option(
            help="A column whose values are sections: each group drawn from one, the groups shared "
            "in proportion to the sections' sizes, each formed on its own."
        ),
    ] = None,
    keep_together: Annotated[
        list[str] | None, typer.Option(help="uids that share a group, comma-separated (repeatable).")
    ] = None,
    keep_apart: Annotated[
        list[str] | None, typer.Option(help="uids all in different groups, comma-separated (repeatable).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="The same seed gives the same groups.")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the groups (uid,group) here instead of standard output.")
    ] = None,
) -> None:
    """Form groups from a CSV roster, with no database, and write them as CSV (uid,group).

    The quality report (sizes, balance beside seeded random, spread, isolated members) goes to
    standard error. A constraint that cannot hold, or a bad roster, ends with exit code 1.
    """
    from studentgroups import grouping
    from studentgroups.csv_import import decode_csv
    from studentgroups.formations import csv_form

    if strategy not in {"random", "balanced"}:
        raise typer.BadParameter("random or balanced.", param_hint="--strategy")
    try:
        weight = grouping.spread_weight_of(objective)
    except ValueError as error:
        raise typer.BadParameter(f"{error}.", param_hint="--objective") from None
    protected = _protected(protect or [], no_isolation)
    if (groups is None) == (size is None):
        raise typer.BadParameter("give exactly one of --groups and --size.", param_hint="--groups/--size")
    source, data = _read_file(file)
    with _refused_file(source, written_meanwhile=None):
        text = decode_csv(data, csv_form.ROSTER)
        del data  # a million rows: the bytes and the text are not kept beside the columns
        members = csv_form.read_roster(
            text,
            numeric=_split(numeric),
            categorical=_split(categorical) + _split(no_isolation) + _split(sections or ""),
        )
        del text
    try:
        count = grouping.groups_needed(
            len(members), count=groups, size=size, prevent_small_last=prevent_small_last_group
        )
        group_names = grouping.group_names(names, count)
        formed = grouping.form_groups(
            grouping.FormationRequest(
                members=members,
                targets=[grouping.Target(key=f"{i:06d}") for i in range(count)],
                strategy="balanced" if strategy == "balanced" else "random",
                seed=grouping.new_seed() if seed is None else seed,
                numeric=[n.lower() for n in _split(numeric)],
                categorical=[c.lower() for c in _split(categorical)],
                no_isolation=[c.lower() for c in _split(no_isolation)],
                protected=protected,
                minority_share=grouping.DEFAULT_MINORITY_SHARE if minority_share is None else minority_share,
                spread_weight=weight,
                sections=sections.strip().lower() if sections else None,
                constraints=grouping.Constraints(
                    keep_together=[_split(s) for s in keep_together or []],
                    keep_apart=[_split(s) for s in keep_apart or []],
                ),
            )
        )
    except grouping.Infeasible as error:
        for problem in error.problems:
            err.print(f"[red]cannot hold:[/] {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    written = [(name, formed.groups[f"{i:06d}"]) for i, name in enumerate(group_names)]
    with _output(output) as out:
        csv_form.write_groups_csv(out, written, formed.unplaced)
    _print_report(formed.report)


def _print_report(report: grouping.QualityReport) -> None:
    from rich.table import Table

    sizes = sorted(report.sizes)
    err.print(
        f"{len(sizes)} groups of {sizes[0]} to {sizes[-1]}; strategy {report.strategy}, seed {report.seed}, "
        f"{report.runtime_ms:.0f} ms; hard constraints broken: {report.violations}",
        highlight=False,
    )
    if report.numeric:
        table = Table("number", "SD of means", "vs random", "SD of SDs", "vs random")
        for n in report.numeric:
            table.add_row(
                n.attribute,
                f"{n.sd_of_means:.4f}",
                "" if n.sd_of_means_ratio is None else f"{n.sd_of_means_ratio:.3f}",
                f"{n.sd_of_sds:.4f}",
                "" if n.sd_of_sds_ratio is None else f"{n.sd_of_sds_ratio:.3f}",
            )
        err.print(table)
    if report.categorical:
        table = Table("category", "largest deviation", "isolated")
        for c in report.categorical:
            table.add_row(c.attribute, f"{c.largest_deviation:.2f}", str(c.isolated))
        err.print(table)


@app.command("close-enrolment")
def close_enrolment() -> None:
    """Allocate every self-enrolment window that has closed (what `serve` does every
    ENROLMENT_SWEEP_SECONDS): for cron, when the service's own sweep is off."""
    from studentgroups.enrolment.allocation import close_due_windows

    closed = close_due_windows(_session_factory())
    for window in closed:
        outcome = (
            f"not allocated: {window.error}"
            if window.error
            else f"{window.placed} placed, {window.unplaced} without a group"
        )
        out.print(f"instance {window.instance_id}, policy {window.policy_id}: {outcome}")
    err.print(f"{len(closed)} self-enrolment window(s) closed")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Host shown in the example curl.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port shown in the example curl.")] = 8000,
) -> None:
    """Create a demo instance with clusters, groups and students, and print its key."""
    from studentgroups.db import transaction
    from studentgroups.demo import create_demo

    with transaction(_session_factory()) as session:
        summary = create_demo(session)
    base = f"http://{host}:{port}"
    out.print(
        f"demo instance {summary.instance_id}: {summary.clusters} clusters, {summary.groups} groups, "
        f"{summary.students} students, {summary.results} results"
    )
    out.print(f"demo API key (admin): {summary.api_key}")
    out.print("try:")
    auth = f"-H 'Authorization: Token token={summary.api_key}'"
    out.print(f"  curl {auth} {base}/student_groups")
    out.print(f"  curl {auth} {base}/student_clusters/{summary.cluster_ids[0]}/results")
    out.print(f"  open {base}/docs")


def _one_line(error: Exception) -> str | None:
    """What the user reads of an error the command ends on, or None when it is a bug (traceback)."""
    # Imported only now: what an error needs is not loaded for `--help`.
    from sqlalchemy.exc import DBAPIError

    from studentgroups.errors import AppError
    from studentgroups.settings import get_settings

    if isinstance(error, AppError):
        return error.detail
    if isinstance(error, DatabaseNotReady):
        return str(error)
    if isinstance(error, DBAPIError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        return (
            f"the database at {_where(get_settings().database_url)} answered: {reason}. "
            "Check STUDENTGROUPS_DATABASE_URL, that the database runs, and `studentgroups migrate`."
        )
    return None


def main() -> None:
    """Run the CLI. Its errors end it with one line that says what to do, never a traceback."""
    try:
        app()
    except Exception as error:
        message = _one_line(error)
        if message is None:
            raise
        err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
