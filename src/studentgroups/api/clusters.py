"""HTTP for /student_clusters: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from studentgroups.clusters import service
from studentgroups.clusters.schemas import ClusterCreate, ClusterOut, ClusterUpdate
from studentgroups.dependencies import PlatformReader, SessionDep, Writer
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses
from studentgroups.responses import json_rows
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.tables.clusters import StudentCluster

router = APIRouter(prefix="/student_clusters", tags=["Student clusters"], route_class=JsonBodyRoute)
ClusterId = Annotated[int, id_path("student cluster")]


@router.post("", response_model=ClusterOut, responses=error_responses(400, 401, 403, 411, 415))
def create_student_cluster(body: ClusterCreate, session: SessionDep, principal: Writer) -> StudentCluster:
    """Create a student cluster in the caller's instance."""
    return service.create_cluster(session, instance_id=principal.instance_id, name=body.name)


@router.get("", response_model=list[ClusterOut], responses=error_responses(400, 401, 403))
def list_student_clusters(
    request: Request, page: PageDep, session: SessionDep, principal: PlatformReader
) -> Response:
    """All the instance's student clusters (pages with `limit` and `offset`)."""
    clusters, total = service.list_clusters(session, instance_id=principal.instance_id, page=page)
    listed = json_rows(clusters)
    set_page_headers(request, listed, page, total)
    return listed


@router.get("/{student_cluster_id}", response_model=ClusterOut, responses=error_responses(400, 401, 403, 404))
def get_student_cluster(
    student_cluster_id: ClusterId, session: SessionDep, principal: PlatformReader
) -> StudentCluster:
    """One student cluster."""
    return service.get_cluster(session, instance_id=principal.instance_id, cluster_id=student_cluster_id)


@router.put(
    "/{student_cluster_id}",
    response_model=ClusterOut,
    responses=error_responses(400, 401, 403, 404, 411, 415),
)
def update_student_cluster(
    student_cluster_id: ClusterId, body: ClusterUpdate, session: SessionDep, principal: Writer
) -> StudentCluster:
    """Change the fields sent, and only those."""
    return service.update_cluster(
        session,
        instance_id=principal.instance_id,
        cluster_id=student_cluster_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.delete(
    "/{student_cluster_id}",
    response_model=ClusterOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def delete_student_cluster(
    student_cluster_id: ClusterId,
    session: SessionDep,
    principal: Writer,
    force: Annotated[
        bool,
        Query(description="Detach the cluster's groups (they are kept) instead of refusing with 409."),
    ] = False,
) -> StudentCluster:
    """Delete a student cluster; refused (409) while groups belong to it, unless `force=true`."""
    return service.delete_cluster(
        session, instance_id=principal.instance_id, cluster_id=student_cluster_id, force=force
    )
