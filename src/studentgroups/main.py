"""The application: routers, error handlers, OpenAPI and the interactive docs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from studentgroups import __version__
from studentgroups.api.audit import router as audit_router
from studentgroups.api.clusters import router as clusters_router
from studentgroups.api.console import router as console_api_router
from studentgroups.api.enrolment import router as enrolment_router
from studentgroups.api.exports import module_router as module_exports_router
from studentgroups.api.exports import router as exports_router
from studentgroups.api.formations import router as formations_router
from studentgroups.api.groups import router as groups_router
from studentgroups.api.keys import router as keys_router
from studentgroups.api.lti import router as lti_api_router
from studentgroups.api.modules import router as modules_router
from studentgroups.api.results import BODY_MODELS
from studentgroups.api.results import router as results_router
from studentgroups.api.students import router as students_router
from studentgroups.console.forming import forming as console_forming
from studentgroups.console.imports import importing as console_imports
from studentgroups.console.router import pages as console_pages
from studentgroups.db import create_db_engine, create_session_factory, pool_capacity
from studentgroups.dependencies import Reader, database_slot, refuse_nul_in_query
from studentgroups.enrolment.sweeper import sweep_windows
from studentgroups.errors import NotFound
from studentgroups.lti.router import router as lti_pages
from studentgroups.luminus import errors as luminus_errors
from studentgroups.luminus.router import router as luminus_router
from studentgroups.luminus.self_enrol import router as self_enrol_router
from studentgroups.operations import configure_logging, install_operations
from studentgroups.operations.process import limit_malloc_arenas
from studentgroups.operations.security import docs_content_security_policy
from studentgroups.problems import PROBLEM_MEDIA_TYPE, error_responses, install_error_handlers
from studentgroups.routing import id_path
from studentgroups.settings import Settings, get_settings
from studentgroups.slots import Slots

DESCRIPTION = """\
Organise learners into groups, form those groups, and read results per group.

Two public APIs on one data model:

* the **Domoscio v1** surface (`/student_clusters`, `/student_groups`, `/students`), served at the
  root and under `/v1/instances/{instance_id}/`; integer ids, snake_case, errors as
  `application/problem+json`;
* the **LumiNUS** surface (`/user/...`): UUIDs, camelCase.

Every call needs an API key, in any of: `Authorization: Token token=<key>`,
`Authorization: Bearer <key>`, `Ocp-Apim-Subscription-Key: <key>`, `X-API-Key: <key>`.
Roles: `read-only` reads (no civil profiles); `staff` also writes; `admin` also manages keys.
A *learner's key* (made with `student_uid`) acts as that student and nothing more: its own record
and results, the groups open to it with their members' names, its own self-enrolment; another
student's record answers it 404, as a missing one does.
A missing or bad key is 401; a key whose role may not do the call is 403; an id of another
instance is 404, exactly as an id that does not exist.

Deleting a student cluster that still has groups, or a group that still has students, is refused
with 409 unless `?force=true`: the cluster's groups are then detached (kept), the group's
memberships removed (the students kept).
"""

V1_PREFIX = "/v1/instances/{instance_id}"
SWAGGER_UI_ASSETS = files("fastapi_swagger") / "resources"
"""Swagger UI's bundle, styles and icon, as the fastapi-swagger package ships them."""
DOMOSCIO_ROUTERS: tuple[APIRouter, ...] = (
    clusters_router,
    groups_router,
    exports_router,
    students_router,
    results_router,
    formations_router,
    keys_router,
    audit_router,
)


async def _path_instance_is_callers(
    instance_id: Annotated[int, id_path("instance")], principal: Reader
) -> None:
    """Under /v1/instances/{instance_id}/ the instance must be the key's own."""
    if instance_id != principal.instance_id:
        raise NotFound(f"No instance with id {instance_id}.")


def _tidy_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Our validation errors are 400 problem documents: drop FastAPI's 422, type error bodies right.

    Under /v1/instances/{instance_id} every operation may also answer 400 (a malformed instance id)
    and 404 (not the key's instance); FastAPI drops `responses` given to `include_router`, so they
    are added here. So are the answers of the pipeline in front of every call with a key: 429
    (its rate limit), 503 (the database unavailable) and, with a body, 413 (too large).
    """
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    prefix_errors = {str(k): v for k, v in error_responses(400, 404).items()}
    pipeline_errors = {str(k): v for k, v in error_responses(429, 503).items()}
    body_errors = {str(k): v for k, v in error_responses(413).items()}
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            added = {
                **(prefix_errors if path.startswith(V1_PREFIX) else {}),
                **(pipeline_errors if "security" in operation else {}),
                **(body_errors if "requestBody" in operation else {}),
            }
            for status, described in added.items():
                responses.setdefault(status, {"description": described["description"]})
            if path.startswith(luminus_errors.PREFIX):
                # LumiNUS errors are JSON strings, as its document has them.
                for status, response in responses.items():
                    if int(status) >= 400:
                        response.setdefault("content", {"application/json": {"schema": {"type": "string"}}})
                continue
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for model in BODY_MODELS:  # bodies read by the route itself (for speed) name their schema here
        components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service, bound to a database."""
    settings = settings or get_settings()
    engine = create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)  # after uvicorn's own set-up, so that its loggers follow ours
        limit_malloc_arenas()  # before the worker threads start: keeps the worker's memory flat
        # Threads beyond the pool's connections would only contend for the GIL (measured in
        # docs/benchmarks.md); every blocking call of a request runs in this pool.
        anyio.to_thread.current_default_thread_limiter().total_tokens = pool_capacity(settings)
        # What start-up made lives as long as the process: keep it out of every GC pass.
        gc.freeze()
        sweeper = None
        if settings.enrolment_sweep_seconds:
            sweeper = asyncio.create_task(
                sweep_windows(
                    app.state.write_sessions,
                    settings.enrolment_sweep_seconds,
                    lambda: database_slot(app.state, writes=True),
                )
            )
        yield
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await operations.aclose()
        engine.dispose()

    app = FastAPI(
        title="studentgroups",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        strict_content_type=False,
        dependencies=[Depends(refuse_nul_in_query)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_sessions = create_session_factory(engine)
    app.state.read_sessions = create_session_factory(engine, read_only=True)
    patience = settings.db_pool_timeout_seconds
    app.state.database_slots = Slots(pool_capacity(settings), patience_seconds=patience)
    app.state.writer_slots = Slots(1, patience_seconds=patience) if settings.is_sqlite else None
    # Each surface writes its errors in its own shape: LumiNUS's are strings.
    app.state.error_surfaces = {luminus_errors.PREFIX: luminus_errors.render}
    install_error_handlers(app)
    # Request ids, logs, metrics, security headers, CORS, limits; /healthz, /readyz, /metrics.
    operations = install_operations(app, settings)

    for router in DOMOSCIO_ROUTERS:
        app.include_router(router)
    scoped = APIRouter(
        prefix="/v1/instances/{instance_id}", dependencies=[Depends(_path_instance_is_callers)]
    )
    for router in DOMOSCIO_ROUTERS:
        scoped.include_router(router)
    app.include_router(scoped)

    # The enrolment and export routes before /modules/{id}/{kind}, which would take
    # /modules/{id}/enrolment or /modules/{id}/roster.csv for a roster kind.
    in_order = (enrolment_router, module_exports_router, modules_router, luminus_router, self_enrol_router)
    for router in in_order:
        app.include_router(router)
    # The console: its one API call, and its pages (not in the OpenAPI document).
    for router in (console_api_router, console_pages, console_forming, console_imports):
        app.include_router(router)
    # LTI 1.3: the admin's API, then what an LMS and its users' browsers call (not in the document).
    for router in (lti_api_router, lti_pages):
        app.include_router(router)

    # Swagger UI 5 (it reads OpenAPI 3.1, which 4.x cannot), served from the installed
    # fastapi-swagger package: works without internet access. No validator badge: it would send
    # the document's address to validator.swagger.io.
    docs_page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="studentgroups API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon-32x32.png",
        # No deep links: they put a link inside each operation's button, which screen readers
        # and keyboards stumble on (axe-core: nested-interactive).
        swagger_ui_parameters={"validatorUrl": None, "deepLinking": False},
    )
    page = bytes(docs_page.body).decode()
    theme_link = '<link type="text/css" rel="stylesheet" href="/docs-assets/studentgroups-theme.css">'
    page = page.replace("<html>", '<html lang="en">', 1).replace("</head>", f"{theme_link}\n</head>", 1)
    docs_policy = docs_content_security_policy(page)
    theme = (files("studentgroups") / "static" / "docs-theme.css").read_bytes()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": docs_policy})

    # Before the mount of Swagger UI's own assets, which would take the path otherwise.
    @app.get("/docs-assets/studentgroups-theme.css", include_in_schema=False)
    async def docs_theme() -> Response:
        return Response(theme, media_type="text/css")

    app.mount("/docs-assets", StaticFiles(directory=str(SWAGGER_UI_ASSETS)), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _tidy_openapi(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory` (settings from the environment)."""
    return create_app()
