"""The pipeline's pure logic, property-tested: token buckets, request ids, JSON depth."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import math
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from studentgroups.operations.bodies import json_depth, json_too_deep
from studentgroups.operations.context import MAX_REQUEST_ID_LENGTH, new_request_id, sanitise_request_id
from studentgroups.operations.ratelimit import Bucket, MemoryLimiter, take

# A shared, busy machine: examples are judged by what they check, not by how long they take.
steady = settings(deadline=None)

rates = st.floats(min_value=1 / 60, max_value=1000, allow_nan=False)
capacities = st.integers(min_value=1, max_value=1000)
gaps = st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), min_size=1, max_size=200)


def replay(rate: float, capacity: int, gaps: list[float]) -> list[tuple[float, bool, int, int]]:
    """Requests `gaps` seconds apart against one bucket: (time, allowed, remaining, retry_after)."""
    bucket: Bucket | None = None
    now = 1000.0
    out = []
    for gap in gaps:
        now += gap
        bucket, decision = take(bucket, now, rate=rate, capacity=capacity)
        out.append((now, decision.allowed, decision.remaining, decision.retry_after))
    return out


@steady
@given(rates, capacities, gaps)
def test_a_bucket_never_allows_more_than_its_burst_plus_what_refilled(
    rate: float, capacity: int, gaps: list[float]
) -> None:
    history = replay(rate, capacity, gaps)
    times = [t for t, *_ in history]
    allowed_before = list(itertools.accumulate((ok for _, ok, _, _ in history), initial=0))
    for start in times:
        for end in times:
            if end < start:
                continue
            allowed = (
                allowed_before[bisect.bisect_right(times, end)]
                - allowed_before[bisect.bisect_left(times, start)]
            )
            assert allowed <= capacity + rate * (end - start) + 1e-6


@steady
@given(rates, capacities, gaps)
def test_remaining_and_retry_after_are_whole_and_sane(rate: float, capacity: int, gaps: list[float]) -> None:
    for _, allowed, remaining, retry_after in replay(rate, capacity, gaps):
        assert 0 <= remaining <= capacity - 1
        if allowed:
            assert retry_after == 0
        else:
            assert remaining == 0
            assert 1 <= retry_after <= math.ceil(1 / rate) + 1


@steady
@given(rates, capacities, gaps)
def test_after_retry_after_seconds_the_next_request_is_allowed(
    rate: float, capacity: int, gaps: list[float]
) -> None:
    bucket: Bucket | None = None
    now = 0.0
    for gap in gaps:
        now += gap
        bucket, decision = take(bucket, now, rate=rate, capacity=capacity)
        if not decision.allowed:
            _, retried = take(bucket, now + decision.retry_after, rate=rate, capacity=capacity)
            assert retried.allowed


@steady
@given(rates, capacities)
def test_a_new_caller_gets_exactly_the_burst_at_once(rate: float, capacity: int) -> None:
    bucket: Bucket | None = None
    decisions = []
    for _ in range(capacity + 1):
        bucket, decision = take(bucket, 50.0, rate=rate, capacity=capacity)
        decisions.append(decision.allowed)
    assert decisions == [True] * capacity + [False]


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=300))
@settings(max_examples=50, deadline=None)
def test_forgetting_callers_never_refuses_more_than_remembering_them(callers: list[str]) -> None:
    forgetful = MemoryLimiter(per_minute=6, burst=2, max_callers=2)
    mindful = MemoryLimiter(per_minute=6, burst=2, max_callers=10**6)

    # Not request by request: a bucket forgotten (refilled) may let a request in that the
    # remembered one refuses, and so be emptier at the next. But it never lets fewer in so far.
    admitted = {"forgetful": Counter[str](), "mindful": Counter[str]()}

    async def run() -> None:
        for i, caller in enumerate(callers):
            now = i * 0.5
            admitted["mindful"][caller] += (await mindful.take(caller, now)).allowed
            admitted["forgetful"][caller] += (await forgetful.take(caller, now)).allowed
            assert admitted["forgetful"][caller] >= admitted["mindful"][caller]
            assert len(forgetful._buckets) <= 2 + 1

    asyncio.run(run())


safe_ids = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:=+/@-",
    min_size=1,
    max_size=MAX_REQUEST_ID_LENGTH,
)


@steady
@given(safe_ids)
def test_a_sane_request_id_is_kept_as_it_is(value: str) -> None:
    assert sanitise_request_id(value) == value
    assert sanitise_request_id(value.encode()) == value


@steady
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_a_kept_request_id_is_short_and_safe_to_log_and_echo(value: str | bytes) -> None:
    kept = sanitise_request_id(value)
    if kept is None:
        return
    assert 1 <= len(kept) <= MAX_REQUEST_ID_LENGTH
    assert kept.isascii()
    assert not any(c.isspace() or c in "\"'\\;,<>" or not c.isprintable() for c in kept)
    assert kept == (value.decode() if isinstance(value, bytes) else value)


def test_fresh_request_ids_are_sane_and_distinct() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(sanitise_request_id(i) == i for i in ids)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    # Strings full of what a naive bracket counter would trip on.
    st.text(alphabet=st.sampled_from(list('[]{}"\\/,:ab é\n\t\u2028')), max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(alphabet=st.sampled_from(list('[]{}"\\k')), max_size=4), children, max_size=4
        ),
    ),
    max_leaves=60,
)


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


@steady
@given(json_values, st.booleans(), st.sampled_from([None, 0, 2]))
def test_the_depth_of_any_json_text_is_exact(value: Any, ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    depth = reference_depth(value)
    assert json_depth(text) == depth
    for limit in range(max(0, depth - 2), depth + 2):
        assert json_too_deep(text, limit) == (depth > limit)


@steady
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", '{"k":']))
def test_deep_nesting_is_measured_whole_or_cut_short(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    inner = "1" if opener != "[" else ""
    text = (opener * depth + inner + closer * depth).encode()
    assert json_depth(text) == depth
    assert json_depth(text, stop_above=10) > 10 or depth <= 10


@steady
@given(st.binary(max_size=2000))
def test_any_bytes_at_all_are_measured_without_failing(text: bytes) -> None:
    assert json_depth(text) >= 0
    json_too_deep(text, 64)


def test_a_body_larger_than_a_scan_chunk_keeps_its_state_across_chunks() -> None:
    padding = '"' + "[" * (1 << 20) + '"'  # a string of brackets straddling the first chunk
    text = ("[" * 10 + "[" + padding + "," + "[" * 70 + "]" * 70 + "]" + "]" * 10).encode()
    assert json_depth(text) == 10 + 1 + 70
