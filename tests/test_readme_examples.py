"""Every curl example in the README runs as written (issue 14).

The README's examples are read from its code blocks and run, in the order they appear, with the
machine's own `curl`, against `studentgroups serve` on a fresh database where `studentgroups demo`
made the demo instance, just as `make run` leaves a new user. Only what the README itself says to
fill in is filled in: the key (`sg_…`, `$KEY`), the server's address, and the `<X's uuid>` /
`<X's id>` placeholders, looked up through the API as the README describes them. Every answer must
be 2xx. When an example changes, this test runs the new one: keep the two in step.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import COMMAND, served

README = Path(__file__).resolve().parents[1] / "README.md"
README_URL = "http://127.0.0.1:8000"
BASH = shutil.which("bash") or "/bin/bash"
WITH_STATUS = 'curl() { command curl -sS -w "%{stderr}\nHTTP %{http_code}\n" "$@"; }\n'
"""curl as written, with its status on stderr after everything the example prints."""
PLACEHOLDER = re.compile(r"<([^<>]+)'s (uuid|id)>")

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")


@dataclass(frozen=True, slots=True)
class Example:
    line: int
    command: str

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.command}"


def readme_examples(text: str) -> list[Example]:
    """The curl commands of the README's fenced code blocks, each whole (continued lines and
    quoted strings that run over several lines joined), with the line it starts on."""
    examples: list[Example] = []
    in_block = False
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            assert not pending, f"README.md:{start}: an example runs past the end of its block"
            in_block = not in_block
            continue
        if not in_block:
            continue
        if not pending:
            if not line.lstrip().startswith("curl "):
                continue
            start = number
        pending.append(line)
        command = "\n".join(pending)
        if command.endswith("\\") or not _complete(command):
            continue
        examples.append(Example(start, command.strip()))
        pending = []
    return examples


def _complete(command: str) -> bool:
    try:
        shlex.split(PLACEHOLDER.sub("X", command), comments=True)  # a placeholder's "'" is no quote
    except ValueError:  # a quotation still open: the command goes on on the next line
        return False
    return True


class Placeholders:
    """What the README says `<X's uuid>` and `<X's id>` stand for: X is a module by its code, a
    class group by its name, a student by uid, and "the save" the last formation saved."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30)

    def fill(self, command: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.value(m.group(1), m.group(2)), command)

    def value(self, name: str, field: str) -> str:
        if name == "the save" and field == "id":
            groups = self._get("/student_groups")
            saved = [f for g in groups for f in self._get(f"/student_groups/{g['id']}/formations")]
            assert saved, "<the save's id>: no formation has been saved"
            return str(max(f["id"] for f in saved))
        assert field == "uuid", f"<{name}'s {field}>: the README names no such value"
        for module in self._get("/modules"):
            if module["code"] == name:
                return str(module["uuid"])
        for student in self._get("/students"):
            if student["uid"] == name:
                return str(student["uuid"])
        for module in self._get("/modules"):
            for group in self._get(f"/user/Resource/{module['uuid']}/Group")["data"]:
                if group["groupName"] == name:
                    return str(group["id"])
        raise AssertionError(f"<{name}'s uuid>: no module, student or class group of that name")

    def _get(self, path: str) -> Any:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.text)
        return response.json()


@pytest.fixture
def demo(tmp_database: str) -> Iterator[tuple[str, str]]:
    """A fresh database as `make run` leaves it: migrated, a demo instance, served. Its URL and
    the demo's key."""
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": tmp_database}
    for args in (["migrate"], ["demo"]):
        done = subprocess.run(
            [COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
    found = re.search(r"demo API key \(admin\): (sg_\S+)", done.stdout)
    assert found, done.stdout
    with served(tmp_database) as url:
        yield url, found.group(1)


def test_the_readme_has_examples_to_run() -> None:
    examples = readme_examples(README.read_text(encoding="utf-8"))
    assert len(examples) >= 20, examples  # a parser that finds nothing would pass the next test
    assert all(e.command.startswith("curl ") for e in examples)


def test_the_readme_parser_joins_continued_lines_and_open_quotes() -> None:
    text = (
        "```sh\ncurl -d '{\"a\":\n 1}' \\\n  http://x/y   # it's a comment\necho no\ncurl http://x/z\n```\n"
    )
    assert [(e.line, e.command) for e in readme_examples(text)] == [
        (2, "curl -d '{\"a\":\n 1}' \\\n  http://x/y   # it's a comment"),
        (6, "curl http://x/z"),
    ]


def test_every_curl_example_in_the_readme_answers_2xx(demo: tuple[str, str]) -> None:
    url, key = demo
    placeholders = Placeholders(url, key)
    failures = []
    for example in readme_examples(README.read_text(encoding="utf-8")):
        command = placeholders.fill(example.command.replace("sg_…", key).replace(README_URL, url))
        assert "…" not in command, f"{example}: left unfilled"
        assert "<" not in command, f"{example}: left unfilled"
        done = subprocess.run(
            [BASH, "-c", WITH_STATUS + command],
            env={**os.environ, "KEY": key},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        status = re.findall(r"^HTTP (\d{3})$", done.stderr, flags=re.MULTILINE)
        if done.returncode != 0 or len(status) != 1 or not status[0].startswith("2"):
            answer = f"exit {done.returncode}, status {status}: {done.stdout[-400:]}{done.stderr}"
            failures.append(f"{example}\n  -> {answer}")
    assert not failures, "\n".join(failures)
