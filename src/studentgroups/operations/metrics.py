"""Prometheus metrics of one app: requests, latency, requests in flight, the database pool."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: noise in every scrape

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> str | None:
    """Where workers share their numbers (prometheus-client's multiprocess mode), if anywhere."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabasePoolCollector:
    """The connection pool's gauges, read when scraped (the pool of the worker that answers)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self._engine.pool
        figures = {
            "size": ("Connections the pool keeps.", getattr(pool, "size", None)),
            "checked_out": ("Connections in use by a request.", getattr(pool, "checkedout", None)),
            "checked_in": ("Open connections idle in the pool.", getattr(pool, "checkedin", None)),
            # QueuePool counts overflow from -size up; only connections beyond the size are overflow.
            "overflow": ("Connections open beyond the pool's size.", getattr(pool, "overflow", None)),
        }
        for name, (documentation, read) in figures.items():
            if read is None:
                continue  # a pool without that figure (SQLite in memory): not reported
            value = max(0, int(read()))
            yield GaugeMetricFamily(f"studentgroups_db_pool_{name}", documentation, value=value)


class HttpMetrics:
    """The app's own registry (tests make several apps in one process) and its metrics."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "studentgroups_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "studentgroups_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "studentgroups_http_requests_in_flight",
            "Requests being served now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._pool = DatabasePoolCollector(engine)
        self.registry.register(self._pool)
        # The labelled children, looked up once: `labels()` takes a lock and checks its arguments.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        if method not in _METHODS:
            method = "OTHER"  # no label, nor entry below, from a client's fancy
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.duration.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format; every worker's when they share a directory."""
        if multiprocess_dir() is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._pool)
        return generate_latest(registry)
