#!/usr/bin/env python3
"""Seeds N tasks into a running GAD through the REST API (the real service: validation,
codes, history and audit rows), signed in as the admin with the dashboard session.

  scripts/seed-tasks.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD [N]

Prints the session cookie (`id=...`) on the last line, for wrk. The server should run with
a high GAD_RATE_LIMIT_PER_MINUTE, or the REST rate limit stops the seeding.
Standard library only."""
import http.client
import json
import sys
import urllib.parse
from datetime import datetime, timedelta, timezone

base, email, password = sys.argv[1], sys.argv[2], sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port)

conn.request(
    "POST",
    "/api/fn/login",
    urllib.parse.urlencode({"email": email, "password": password}),
    {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
)
res = conn.getresponse()
res.read()
if res.status != 200:
    sys.exit(f"login failed: {res.status}")
cookie = res.getheader("Set-Cookie").split(";", 1)[0]

types = ["patrol", "investigation", "surveillance", "intervention", "administrative", "training"]
priorities = ["low", "medium", "high", "urgent"]
start = datetime(2027, 1, 1, 6, 0, tzinfo=timezone.utc)
for i in range(count):
    begin = start + timedelta(minutes=37 * i)
    body = {
        "title": f"Tarea de carga {i + 1:05d}",
        "description": "Creada por scripts/seed-tasks.py para medir el tablero.",
        "task_type": types[i % len(types)],
        "priority": priorities[i % len(priorities)],
        "scheduled_start": begin.isoformat().replace("+00:00", "Z"),
        "scheduled_end": (begin + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "lat": -34.70 + (i % 200) * 0.001,
        "lon": -58.50 + (i % 170) * 0.001,
        "location_text": f"Punto de carga {i % 97}",
    }
    conn.request(
        "POST",
        "/api/v1/tasks",
        json.dumps(body),
        {"Content-Type": "application/json", "Cookie": cookie, "Accept": "application/json"},
    )
    res = conn.getresponse()
    answer = res.read()
    if res.status != 201:
        sys.exit(f"task {i}: {res.status} {answer[:300]!r}")
    if (i + 1) % 1000 == 0:
        print(f"{i + 1} tasks", file=sys.stderr)
print(cookie)
