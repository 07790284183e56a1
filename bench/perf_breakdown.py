#!/usr/bin/env python3
"""Attributes each sample of `perf script` (with call graphs) to the innermost frame that
names a known part of a request's work, and prints each part's share of the samples.

    perf script -i perf.data | bench/perf_breakdown.py
"""
import re
import sys

PARTS = [
    ("store: SQLite engine", r"sqlite3"),
    ("store: PostgreSQL driver and pool", r"tokio_postgres|deadpool|postgres_protocol"),
    ("store: rows to records, pool, timing", r"tessera_store"),
    ("rate limiter", r"tessera_web::ratelimit"),
    ("client secret check (SHA-256)", r"check_secret|sha2::|Sha256"),
    ("signing (JOSE)", r"tessera_jose|rsa::|p256|ed25519|curve25519"),
    ("form and credentials parsing", r"extract::OAuthPost|tessera_web::form|presented_credentials|form_urlencoded"),
    ("JSON answer", r"serde_json|tessera_web::error::json"),
    ("introspection answer", r"introspect_for"),
    ("metrics", r"metrics::|metrics_exporter|metrics_util"),
    ("tracing/logging", r"tracing|tessera_web::request_log"),
    ("socket write", r"writev|sendmsg|sock_write"),
    ("socket read", r"recv|sock_read|tcp_recvmsg"),
    ("HTTP parsing and framing (hyper)", r"hyper::proto|httparse|hyper::"),
    ("routing and middleware (axum, tower)", r"axum|tower"),
    ("async runtime (tokio, epoll, scheduling)", r"tokio::|mio::|epoll|schedule|futex|finish_task_switch"),
    ("handler (tessera_web)", r"tessera_web|tessera_core"),
]
compiled = [(name, re.compile(p)) for name, p in PARTS]
counts = {name: 0 for name, _ in PARTS}
other = 0
total = 0
frames = []


def flush():
    global other, total
    if not frames:
        return
    total += 1
    for frame in frames:  # leaf first
        for name, rx in compiled:
            if rx.search(frame):
                counts[name] += 1
                return
    other += 1


for line in sys.stdin:
    if not line.strip():
        flush()
        frames = []
    elif line.startswith(("\t", " ")):
        frames.append(line.strip())
flush()
for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
    if n:
        print(f"{100 * n / total:5.1f}%  {name}")
print(f"{100 * other / total:5.1f}%  other (allocator, kernel, unattributed)")
print(f"{total} samples")
