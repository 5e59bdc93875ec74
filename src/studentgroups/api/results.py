"""HTTP for /results and the figures of a group or a cluster: parse, call the service, return a schema."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Row

from studentgroups import permissions
from studentgroups.dependencies import PlatformReader, Reader, SessionDep, Writer
from studentgroups.errors import (
    BadRequest,
    LengthRequired,
    UnsupportedMediaType,
    field_errors_from_validation,
)
from studentgroups.exports.service import RESULTS_LAYOUT, figure_rows
from studentgroups.groups import access
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses, is_json_media_type
from studentgroups.responses import CSV_RESPONSE, csv_response, json_response, json_rows, wants_csv
from studentgroups.result_filters import Filters, Items, Since, Until
from studentgroups.results import service
from studentgroups.results.aggregates import Figures
from studentgroups.results.schemas import (
    DEFAULT_THRESHOLD,
    MAX_RESULTS_PER_CALL,
    ClusterResults,
    GroupResults,
    ResultIn,
    ResultOut,
    ResultsCreated,
)
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.streaming import stream_csv
from studentgroups.wire import Id

router = APIRouter(tags=["Results"], route_class=JsonBodyRoute)

_ONE = TypeAdapter(ResultIn)
_MANY = TypeAdapter(Annotated[list[ResultIn], Field(min_length=1, max_length=MAX_RESULTS_PER_CALL)])
BODY_MODELS = (ResultIn,)
"""Models the request body below refers to, for the OpenAPI document's components."""

_RESULT_REF = {"$ref": "#/components/schemas/ResultIn"}
_RESULTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _RESULT_REF,
                        {
                            "type": "array",
                            "items": _RESULT_REF,
                            "minItems": 1,
                            "maxItems": MAX_RESULTS_PER_CALL,
                        },
                    ]
                }
            }
        },
    }
}


async def _json_body(request: Request) -> bytes:
    body = await request.body()
    if not body.strip():
        raise LengthRequired("POST needs a JSON body; the request had none.")
    content_type = request.headers.get("content-type", "")
    if content_type and not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            f"The body must be JSON (Content-Type: application/json), not {content_type}."
        )
    return body


def parse_results(body: bytes) -> ResultIn | list[ResultIn]:
    """One result (a JSON object) or a batch (an array), checked row by row.

    Bad rows are named as `<row>.<field>`, with the rule each breaks; nothing is stored then.
    """
    adapter: TypeAdapter[Any] = _MANY if body.lstrip()[:1] == b"[" else _ONE
    try:
        parsed: ResultIn | list[ResultIn] = adapter.validate_json(body)
    except ValidationError as error:
        errors = field_errors_from_validation([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        if any(e.rule == "json_invalid" for e in errors):
            raise BadRequest("The body is not valid JSON.", errors=errors[:1]) from None
        rows = sorted({e.field.split(".", 1)[0] for e in errors if e.field[:1].isdigit()}, key=int)
        where = f" on row(s) {', '.join(rows[:20])}" if rows else ""
        raise BadRequest(f"Invalid results{where}; nothing was stored.", errors=errors[:100]) from None
    return parsed


@router.post(
    "/results",
    response_model=ResultOut | ResultsCreated,
    responses=error_responses(400, 401, 403, 409, 411, 415),
    openapi_extra=_RESULTS_BODY,
)
def create_results(
    body: Annotated[bytes, Depends(_json_body)], session: SessionDep, principal: Writer
) -> ResultOut | ResultsCreated:
    """Store one result (an object; answers it) or up to 10,000 (an array; answers how many), all or none.

    Each names its student by `student_id` or `uid`. A bad row (an unknown student, a score above
    `max_score`, a `max_score` of 0 or less, a number that is not one) is a 400 naming the row and
    the field, and nothing of the batch is stored.
    """
    parsed = parse_results(body)
    if isinstance(parsed, list):
        created = service.record_results(session, instance_id=principal.instance_id, results=parsed)
        return ResultsCreated(created=created)
    row = service.record_result(session, instance_id=principal.instance_id, result=parsed)
    return _result_out(service.get_result(session, instance_id=principal.instance_id, result_id=row.id))


def _result_out(row: Row[Any]) -> ResultOut:
    return ResultOut.model_validate(dict(row._mapping))


@router.get("/results/{result_id}", response_model=ResultOut, responses=error_responses(400, 401, 404))
def get_result(
    result_id: Annotated[int, id_path("result")], session: SessionDep, principal: Reader
) -> ResultOut:
    """One result. To a learner's key, another student's result is 404, as a missing one is."""
    return _result_out(
        service.get_result(
            session,
            instance_id=principal.instance_id,
            result_id=result_id,
            readable=permissions.results_readable(principal),
        )
    )


def _include_subgroups(
    include_subgroups: Annotated[
        bool, Query(description="Count the members of the groups' sub-groups too.")
    ] = False,
) -> bool:
    return include_subgroups


IncludeSubgroups = Annotated[bool, Depends(_include_subgroups)]
"""A dependency, so that it is documented after the filters, as it always was."""


def _matching(
    student_id: Annotated[Id | None, Query(description="Only this student's results.")] = None,
    uid: Annotated[
        str | None, Query(max_length=255, description="Only the results of the student with this uid.")
    ] = None,
    items: Items = None,
    since: Since = None,
    until: Until = None,
) -> service.ResultsMatching:
    window = service.result_filters(items, since, until, DEFAULT_THRESHOLD)
    return service.ResultsMatching(student_id, uid, window.items, window.since, window.until)


Matching = Annotated[service.ResultsMatching, Depends(_matching)]
"""Which results a list or an export takes, from its query."""


@router.get(
    "/results", response_model=list[ResultOut], responses={**CSV_RESPONSE, **error_responses(400, 401)}
)
def list_results(
    request: Request, page: PageDep, session: SessionDep, principal: Reader, matching: Matching
) -> Response:
    """The instance's results that match, by id (pages with `limit` and `offset`); to a learner's
    key, only its own. With `Accept: text/csv`, all that match as CSV (`/results.csv`)."""
    if wants_csv(request):
        return export_results(request, session, principal, matching)
    rows, total = service.list_results(
        session,
        instance_id=principal.instance_id,
        page=page,
        matching=matching,
        readable=permissions.results_readable(principal),
    )
    listed = json_rows(rows)
    set_page_headers(request, listed, page, total)
    return listed


@router.get(
    "/results.csv",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(400, 401)},
)
def export_results(
    request: Request, session: SessionDep, principal: Reader, matching: Matching
) -> StreamingResponse:
    """The results that match, all of them, as CSV (`uid,item,score,max_score,recorded_at`, by
    id), streamed: `studentgroups results import` reads it back. To a learner's key, its own."""
    stmt = service.results_statement(
        instance_id=principal.instance_id, matching=matching, readable=permissions.results_readable(principal)
    )
    return stream_csv(request, stmt, RESULTS_LAYOUT.header, RESULTS_LAYOUT.cells, "results.csv")


def figures_out(figures: Figures) -> dict[str, Any]:
    """The figures as the Domoscio surface names them: the services' own names."""
    return asdict(figures)


@router.get(
    "/student_groups/{student_group_id}/results",
    response_model=GroupResults,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
@router.get(
    "/student_groups/{student_group_id}/results.csv",
    response_class=Response,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def group_results(
    student_group_id: Annotated[int, id_path("student group")],
    request: Request,
    session: SessionDep,
    principal: Reader,
    filters: Filters,
    include_subgroups: IncludeSubgroups,
) -> Response:
    """How the group is doing: its members' results summed up (see `GroupFigures`). With
    `Accept: text/csv`, its figures as one CSV row (`/student_groups/{id}/results.csv`)."""
    group = access.viewable_group(session, principal, student_group_id)
    figures = service.group_figures(
        session,
        group=group,
        filters=filters.checked(),
        include_subgroups=include_subgroups,
    )
    if wants_csv(request):
        return csv_response(*figure_rows([(group.id, group.name, figures)]), f"group-{group.id}-results.csv")
    return json_response(
        {
            "student_group_id": group.id,
            "name": group.name,
            "threshold": filters.threshold,
            "include_subgroups": include_subgroups,
            **figures_out(figures),
        }
    )


@router.get(
    "/student_clusters/{student_cluster_id}/results",
    response_model=ClusterResults,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
@router.get(
    "/student_clusters/{student_cluster_id}/results.csv",
    response_class=Response,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def cluster_results(
    student_cluster_id: Annotated[int, id_path("student cluster")],
    request: Request,
    session: SessionDep,
    principal: PlatformReader,
    filters: Filters,
    include_subgroups: IncludeSubgroups,
) -> Response:
    """The cluster's groups side by side, and the cluster as a whole (each student counted once).

    Only the groups the caller may see are compared. With `Accept: text/csv`, one CSV row per
    group, then the whole cluster's (no group id) (`/student_clusters/{id}/results.csv`).
    """
    name, groups = service.cluster_groups(
        session,
        instance_id=principal.instance_id,
        cluster_id=student_cluster_id,
        visible=access.visible(principal),
    )
    compared = service.compare_groups(
        session,
        instance_id=principal.instance_id,
        groups=groups,
        filters=filters.checked(),
        include_subgroups=include_subgroups,
    )
    if wants_csv(request):
        rows = [(g.id, g.name, f) for g, f in compared.groups] + [("", name, compared.whole)]
        return csv_response(*figure_rows(rows), f"cluster-{student_cluster_id}-results.csv")
    return json_response(
        {
            "student_cluster_id": student_cluster_id,
            "name": name,
            "threshold": filters.threshold,
            "include_subgroups": include_subgroups,
            "whole": figures_out(compared.whole),
            "groups": [
                {"student_group_id": g.id, "name": g.name, **figures_out(f)} for g, f in compared.groups
            ],
        }
    )
