"""Our own REST surface, an edge over the services: the Domoscio v1 paths (clusters, groups,
students, results, at the root and under `/v1/instances/{instance_id}/`), their extensions
(formations, keys, the audit log), and the management calls (`/modules`, self-enrolment).
snake_case names, integer ids, RFC 9457 problem details. A module per resource; each parses,
calls one service, and maps the answer to the wire."""
