"""The `studentgroups` command, run as a user runs it, against the run's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live_server import LiveServer

COMMAND = str(Path(sys.executable).with_name("studentgroups"))


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url}
    return subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_instance_create_json_prints_exactly_the_id_and_key(database_url: str, server: LiveServer) -> None:
    result = run(database_url, "instance", "create", "Acme University", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert list(created) == ["instance_id", "api_key"]
    assert isinstance(created["instance_id"], int)
    response = httpx.get(f"{server.url}/student_groups", headers={"X-API-Key": created["api_key"]})
    assert response.status_code == 200


def test_key_create_list_revoke(database_url: str, server: LiveServer) -> None:
    instance = json.loads(run(database_url, "instance", "create", "Keys U", "--json").stdout)["instance_id"]
    made = run(
        database_url,
        "key",
        "create",
        "--instance",
        str(instance),
        "--role",
        "read-only",
        "--user",
        "ta",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["role"] == "read-only"
    headers = {"X-API-Key": key["api_key"]}
    assert httpx.get(f"{server.url}/students", headers=headers).status_code == 200
    assert httpx.post(f"{server.url}/students", headers=headers, json={"uid": "x"}).status_code == 403

    listed = run(database_url, "key", "list", "--instance", str(instance))
    assert listed.returncode == 0
    assert "read-only" in listed.stdout
    assert key["api_key"] not in listed.stdout

    revoked = run(database_url, "key", "revoke", str(key["id"]), "--instance", str(instance))
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{server.url}/students", headers=headers).status_code == 401


def test_key_create_for_an_unknown_instance_fails_cleanly(database_url: str) -> None:
    result = run(database_url, "key", "create", "--instance", "987654321")
    assert result.returncode == 1
    assert "error: No instance with id 987654321." in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_prints_a_key_that_reads_the_demo_data(database_url: str, server: LiveServer) -> None:
    result = run(database_url, "demo", "--port", str(server.port))
    assert result.returncode == 0, result.stderr
    key = next(line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("demo API key"))
    assert f"curl -H 'Authorization: Token token={key}' {server.url}/student_groups" in result.stdout
    groups = httpx.get(f"{server.url}/student_groups", headers={"Authorization": f"Token token={key}"}).json()
    assert len(groups) == 5
    students = httpx.get(f"{server.url}/students", headers={"X-API-Key": key}).json()
    assert len(students) == 40
    assert all(s["student_group_id"] in {g["id"] for g in groups} for s in students)


def test_migrate_on_a_new_database(tmp_database: str) -> None:
    result = run(tmp_database, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr
    assert run(tmp_database, "instance", "create", "After migrate", "--json").returncode == 0
