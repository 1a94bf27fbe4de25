#!/usr/bin/env python3
"""The writers of the mixed load (scripts/bench-postgres.sh), open loop, for SECONDS:
200 officers reporting a position every 10 s (20 requests/s) and 5 task writes a second
(creations and pause/resume transitions in turn), signed in with the dashboard session.
Prints p50/p99 per route as Markdown table rows. Standard library only.

  scripts/bench-writers.py BASE_URL SESSION_COOKIE OFFICER_IDS_FILE TASK_IDS_FILE SECONDS"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

base, cookie, officers_file, tasks_file, seconds = sys.argv[1:6]
seconds = float(seconds)
url = urllib.parse.urlsplit(base)
officers = open(officers_file).read().split()
tasks = open(tasks_file).read().split()
results = {}
lock = threading.Lock()


def post(conn, path, body):
    start = time.perf_counter()
    try:
        conn.request("POST", path, json.dumps(body), {
            "Content-Type": "application/json", "Accept": "application/json",
            "Cookie": f"gad_session={cookie}"})
        res = conn.getresponse()
        res.read()
        ok = 200 <= res.status < 300
    except OSError:
        ok = False
    return (time.perf_counter() - start) * 1000, ok


def stream(route, rate, make):
    """`rate` requests per second on one connection, each at its planned time (latency
    counted from the planned time, so a slow server is not hidden by waiting less)."""
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    begin = time.perf_counter()
    n = 0
    while True:
        planned = begin + n / rate
        if planned - begin >= seconds:
            break
        delay = planned - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        path, body = make(n)
        ms, ok = post(conn, path, body)
        ms += max(0.0, -delay) * 1000
        if not ok:
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        with lock:
            results.setdefault(route, []).append((ms, ok))
        n += 1


def position(n):
    officer = officers[n % len(officers)]
    return f"/api/v1/officers/{officer}/positions", {
        "lat": -34.70 + random.random() * 0.2, "lon": -58.53 + random.random() * 0.2, "accuracy_m": 10}


def task_write(n):
    if n % 2 == 0:
        return "/api/v1/tasks", {"title": f"Carga mixta {n}", "task_type": "patrol", "priority": "high",
                                 "lat": -34.6, "lon": -58.4}
    task = tasks[(n // 2) % len(tasks)]
    to = "paused" if (n // 2 // len(tasks)) % 2 == 0 else "in_progress"
    return f"/api/v1/tasks/{task}/transitions", {"to": to}


threads = [threading.Thread(target=stream, args=("POST /api/v1/officers/{id}/positions", 5, position))
           for _ in range(4)]
threads.append(threading.Thread(target=stream, args=("POST /api/v1/tasks, …/transitions", 5, task_write)))
started = time.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
# Every planned request is sent, late if the server is slow: the rate is over the time it
# took to answer them all, not the offered rate.
elapsed = time.perf_counter() - started
for route, samples in sorted(results.items()):
    times = sorted(ms for ms, _ in samples)
    errors = sum(1 for _, ok in samples if not ok)
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"| {route} (open loop) | {len(samples) / elapsed:.0f} | {pick(0.5):.1f} ms | {pick(0.99):.1f} ms | {errors} |")
