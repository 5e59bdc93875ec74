"""No secret in any record: a key sent in a query string is cut from the audit log, the access
log and the metrics, and the other parameters are kept exactly as sent."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from studentgroups.auth import generate_key
from studentgroups.redaction import REDACTED, redact_query
from tests.factories import Tenant
from tests.operations.conftest import captured_logs

names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)
values = st.text(st.characters(codec="utf-8", exclude_characters="&="), max_size=20)


@given(st.lists(st.tuples(names, values), max_size=6), st.sampled_from(["api_key", "token", "Key", "x"]))
def test_a_key_in_a_query_never_survives_and_other_parameters_are_kept(
    pairs: list[tuple[str, str]], secret_name: str
) -> None:
    key = generate_key()
    plain = [
        (n, v)
        for n, v in pairs
        if not any(
            s in n.lower()
            for s in (
                "key",
                "token",
                "secret",
                "pass",
                "auth",
                "credential",
                "signature",
                "session",
                "subscription",
            )
        )
    ]
    parts = [f"{quote(n)}={quote(v)}" for n, v in plain]
    query = "&".join([*parts, f"{secret_name}={quote(key)}"])
    redacted = redact_query(query)
    assert key not in redacted
    assert redacted.split("&")[: len(parts)] == parts
    assert redacted.split("&")[-1] == f"{secret_name}={REDACTED}"


def test_a_live_key_in_the_query_is_cut_from_the_audit_log_access_log_and_metrics(tenant: Tenant) -> None:
    with captured_logs() as logs:
        made = tenant.post(
            "/student_clusters",
            params={"api_key": tenant.key, "note": "term 1", "access_token": "opaque-123"},
            json={"name": "with a key in its url"},
        )
        assert made.status_code == 200
        metrics = tenant.http.get("/metrics").text
    (event,) = [e for e in tenant.get("/audit_events").json() if e["operation"] == "create_student_cluster"]
    assert event["path"] == f"/student_clusters?api_key={REDACTED}&note=term+1&access_token={REDACTED}"
    for record in (event["path"], logs.text, metrics):
        assert tenant.key not in record
        assert tenant.key[3:] not in record
        assert "opaque-123" not in record
    assert any(r.get("path") == "/student_clusters" for r in logs.records())
