"""Intake under load: signed Meta deliveries to a real server on PostgreSQL.

    python benchmarks/intake.py [--rate 200] [--seconds 60] [--conversations 100000]

1. Starts a throw-away PostgreSQL (pgserver), migrates it, and runs ``stemme serve --workers
   N`` (web processes, jobs off), ``stemme worker`` (analysis and replies) and a minimal fake
   Graph API (it accepts the automatic answers to the urgent messages) as separate processes,
   and waits until the worker has analysed a first message (its models are loaded).
2. Sends ``--rate`` signed Messenger deliveries per second for ``--seconds`` seconds on an
   open-loop schedule (a slow answer does not slow the sender down), each a new message.
   Reports the acknowledgement latency (p50/p95/p99/max) and, per message, the time from
   its acknowledgement until it is analysed and listed in the queue (p50/p95/max).
3. Fills the database up to ``--conversations`` conversations and times the queue page
   (``GET /inbox``, logged in as a national operator) 50 times: p50/p95.

Targets (issue 6): acknowledgement p99 < 50 ms at 200/s for 60 s; triaged and visible in the
queue within 2 s (p95); the queue page with 100 000 conversations in < 300 ms (p95).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SENDERS = 64  # concurrent connections of the load generator
GRAPH_PORT = 8192
SECRET = "bench-app-secret"  # noqa: S105 - a throw-away benchmark secret
PAGE = "900800700"
KEY = "bench:Ztc1TX2LLjfVXM31MtQGee1G8lRf3TaOfBt3eH0ZOrw="
TEXTS = (
    "Hei, sykkelen min ble stjålet i Bergen i går. Ring meg på 912 34 567",
    "Hvordan fornyer jeg passet? Mvh Kari Nordmann",
    "Det selges hasj bak skolen i Drammen hver fredag",
    "Takk for god hjelp i Tromsø!",
    "Hjelp, det er en mann med kniv utenfor døra mi nå!",
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.5) - 1))]


def _program() -> str:
    here = Path(sys.executable).parent
    program = shutil.which("stemme", path=str(here)) or shutil.which("stemme")
    if program is None:
        sys.exit("the stemme console script is not installed (pip install -e .)")
    return program


# The Graph API's Send endpoint, as small as it can be: every reply is accepted. It runs as
# a process of its own on the same two cores (so it costs the server, never helps it).
FAKE_GRAPH = """
import asyncio, sys

async def answer(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            body = b'{"recipient_id": "1", "message_id": "m_bench"}'
            writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n"
                         b"content-length: %d\\r\\n\\r\\n%s" % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(answer, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

asyncio.run(main())
"""


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STEMME_")}
    env.update(
        STEMME_DATABASE_URL=database_url,
        STEMME_ENCRYPTION_KEYS=KEY,
        STEMME_META_APP_SECRET=SECRET,
        STEMME_META_PAGE_TOKENS=json.dumps({PAGE: "token"}),
        STEMME_META_GRAPH_URL=f"http://127.0.0.1:{GRAPH_PORT}/v21.0",  # FAKE_GRAPH
        STEMME_LOG_LEVEL="WARNING",
        STEMME_COOKIE_SECURE="false",
        **extra,
    )
    return env


def _delivery(number: int) -> bytes:
    event = {
        "sender": {"id": f"psid-{number}"},
        "recipient": {"id": PAGE},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": f"bench-{number}", "text": TEXTS[number % len(TEXTS)]},
    }
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [event]}]}).encode()


def _request(number: int) -> bytes:
    """One signed delivery as raw HTTP/1.1 bytes (built before the clock starts)."""
    from stemme.channels.meta import sign

    body = _delivery(number)
    head = (
        "POST /channels/meta/webhook HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        "content-type: application/json\r\n"
        f"x-hub-signature-256: {sign(SECRET, body)}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request on a kept-alive connection; the response's status code."""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _send_all(url: str, rate: int, seconds: int) -> dict[str, float]:
    """Open loop: delivery n is due at start + n/rate; returns mid -> time acknowledged.

    SENDERS kept-alive connections take the deliveries in order, each waiting for its due
    time. The latency counts from the due time, so a slow answer that delays the next
    delivery is charged to the server too (no coordinated omission). The requests are
    built before the clock starts and spoken as raw HTTP/1.1, so the load generator, which
    shares the machine's two cores with the server, costs as little CPU as possible.
    """
    host, port = url.removeprefix("http://").split(":")
    acknowledged: dict[str, float] = {}
    latencies: list[float] = []
    failures = 0
    total = rate * seconds
    requests = [_request(number) for number in range(total)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(total):
        queue.put_nowait(number)
    start = time.perf_counter()

    async def sender() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                number = queue.get_nowait()
                due = start + number / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if await _exchange(reader, writer, requests[number]) == 200:
                    latencies.append((time.perf_counter() - due) * 1000)
                    acknowledged[f"bench-{number}"] = time.time()
                else:
                    failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    elapsed = time.perf_counter() - start
    rate_seen = total / elapsed
    print(f"sent {total} deliveries in {elapsed:.1f} s ({rate_seen:.0f}/s), {failures} failed")
    print(
        "acknowledge ms: "
        f"p50 {percentile(latencies, 0.5):.1f}  p95 {percentile(latencies, 0.95):.1f}  "
        f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
    )
    return acknowledged


def _wait_for_worker(url: str, database_url: str) -> None:
    """Send one delivery and wait until it is analysed: the worker has loaded its models."""
    from sqlalchemy import create_engine, select

    from stemme.inbox.models import Message

    body = _request(-1)
    head, _, payload = body.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    answer = httpx.post(f"{url}/channels/meta/webhook", content=payload, headers=headers)
    if answer.status_code != 200:
        sys.exit(f"the first delivery was refused: {answer.status_code} {answer.text}")
    engine = create_engine(database_url)
    deadline = time.monotonic() + 120
    query = select(Message.analyzed_at).where(Message.channel_message_id == "bench--1")
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(query).scalar() is not None:
                    return
            time.sleep(0.5)
        sys.exit("the worker did not analyse a first message within 120 s")
    finally:
        engine.dispose()


def _visible_delays(database_url: str, acknowledged: dict[str, float], wait: float) -> None:
    """Seconds from acknowledgement to analysed (= listed with its redacted text)."""
    from sqlalchemy import create_engine, select

    from stemme.inbox.models import Message

    engine = create_engine(database_url)
    deadline = time.time() + wait
    while time.time() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Message.channel_message_id, Message.analyzed_at).where(
                    Message.channel_message_id.like("bench-%")
                )
            ).all()
        if len(rows) >= len(acknowledged) and all(a is not None for _, a in rows):
            break
        time.sleep(1)
    delays = [
        analysed.timestamp() - acknowledged[mid]
        for mid, analysed in rows
        if analysed is not None and mid in acknowledged
    ]
    missing = len(acknowledged) - len(delays)
    engine.dispose()
    print(
        f"ack -> triaged and listed, s: p50 {percentile(delays, 0.5):.2f}  "
        f"p95 {percentile(delays, 0.95):.2f}  max {max(delays):.2f}  "
        f"({missing} acknowledged but not analysed within the wait)"
    )


def _fill(database_url: str, conversations: int) -> None:
    """Bulk rows straight into PostgreSQL: closed and open conversations over a year."""
    from sqlalchemy import create_engine, func, insert, select, text

    from stemme.inbox.models import Conversation, Message

    engine = create_engine(database_url)
    with engine.begin() as conn:
        have = conn.execute(select(func.count(Conversation.id))).scalar_one()
        now = datetime.now(UTC)
        districts = ("Oslo", "Vest", "Øst", "Trøndelag", "Agder", "Nordland")
        batch: list[dict[str, object]] = []
        for n in range(have, conversations):
            at = now - timedelta(minutes=n % 500_000)
            batch.append(
                {
                    "channel": ("messenger", "instagram", "webchat", "email")[n % 4],
                    "thread_key": f"fill-{n}",
                    "channel_district": districts[n % 6],
                    "district": districts[n % 6],
                    "category": "question",
                    "urgent": n % 97 == 0,
                    "triage_corrected": False,
                    "status": "closed" if n % 10 else "open",
                    "created_at": at,
                    "last_message_at": at,
                    "emergency_replied": False,
                    "out_of_hours_replied": False,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(Conversation), batch)
                batch = []
        if batch:
            conn.execute(insert(Conversation), batch)
        ids = conn.execute(
            select(Conversation.id).where(Conversation.thread_key.like("fill-%"))
        ).scalars()
        rows = [
            {
                "uid": f"fill{cid:028d}",
                "conversation_id": cid,
                "channel": "messenger",
                "direction": "in",
                "channel_message_id": f"fill-{cid}",
                "raw_encrypted": b"-",
                "redacted_text": "Hei, hvordan fornyer jeg passet? <PERSON>",
                "urgent": False,
                "entity_types": [],
                "reasons": [],
                "created_at": now,
                "analyzed_at": now,
                "analysis_attempts": 1,
                "kind": "citizen",
                "delivery_attempts": 0,
            }
            for cid in ids
        ]
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Message), rows[i : i + 5000])
    # what autovacuum does after a bulk load: statistics for the planner, a visibility map
    # for index-only counts
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE conversations"))
        conn.execute(text("VACUUM ANALYZE messages"))
    engine.dispose()


def _queue_page(url: str, database_url: str, samples: int = 50) -> None:
    subprocess.run(
        [_program(), "user", "create", "--email", "bench@stemme.no", "--role", "operator",
         "--password-stdin"],
        input="bench-password-123\n", text=True, env=_env(database_url), check=True,
        capture_output=True,
    )  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        csrf = found.group(1) if found else ""
        http.post(
            "/login",
            data={"email": "bench@stemme.no", "password": "bench-password-123", "next": "/",
                  "csrf_token": csrf},
        )  # fmt: skip
        timings = []
        for _ in range(samples):
            start = time.perf_counter()
            page = http.get("/inbox")
            timings.append((time.perf_counter() - start) * 1000)
            assert page.status_code == 200, page.status_code
        for _ in range(samples // 2):
            start = time.perf_counter()
            http.get("/inbox?status=closed&page=200")
            timings.append((time.perf_counter() - start) * 1000)
    print(
        f"queue page ms ({samples + samples // 2} loads): p50 {percentile(timings, 0.5):.0f}  "
        f"p95 {percentile(timings, 0.95):.0f}  max {max(timings):.0f}"
    )


def _start(args: list[str], env: dict[str, str], ready_url: str | None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [_program(), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if ready_url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        _stop(process)
        sys.exit("stemme serve did not start")
    return process


def _cpu_seconds(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process tree, and by this one.

    Children that have ended are counted through their parent's ``children_*`` times, so
    PostgreSQL backends that came and went are not lost.
    """
    import psutil

    own = psutil.Process().cpu_times()
    seconds = {"load generator": own.user + own.system}
    for name, pids in roots.items():
        total = 0.0
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(pid)
                for process in (root, *root.children(recursive=True)):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        times = process.cpu_times()
                        total += times.user + times.system
                        total += times.children_user + times.children_system
        seconds[name] = total
    return seconds


def _postmaster(data_dir: Path) -> int:
    """The pid of the throw-away PostgreSQL's postmaster (its first line of postmaster.pid)."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def _print_cpu(before: dict[str, float], after: dict[str, float], deliveries: int) -> None:
    parts = [f"{name} {(after[name] - before[name]) * 1000 / deliveries:.2f}" for name in before]
    print("CPU ms per delivery while sending: " + "  ".join(parts))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill a process and its children (uvicorn's web workers)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    process.kill()
    process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8191)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--worker-processes", type=int, default=1)
    args = parser.parse_args()

    import pgserver  # type: ignore[import-untyped]

    data_dir = Path(tempfile.mkdtemp(prefix="stemme-bench-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    database_url = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [_program(), "migrate"], env=_env(database_url), check=True, capture_output=True
        )
        url = f"http://127.0.0.1:{args.port}"
        web_env = _env(database_url, STEMME_RUN_JOBS_IN_PROCESS="false")
        serve = ["serve", "--port", str(args.port), "--workers", str(args.web_processes)]
        processes.append(_start(serve, web_env, f"{url}/readyz"))
        graph = subprocess.Popen([sys.executable, "-c", FAKE_GRAPH, str(GRAPH_PORT)])
        processes.append(graph)
        for _ in range(args.worker_processes):
            processes.append(_start(["worker"], _env(database_url), None))
        _wait_for_worker(url, database_url)
        print(
            f"PostgreSQL (pgserver), {args.web_processes} web processes + "
            f"{args.worker_processes} worker processes, {os.cpu_count()} cores "
            "(load generator on the same machine)"
        )
        roots = {
            "web": [processes[0].pid],
            "worker": [process.pid for process in processes[2:]],
            "postgresql": [_postmaster(data_dir)],
            "fake Graph API": [graph.pid],
        }
        cpu_before = _cpu_seconds(roots)
        acknowledged = asyncio.run(_send_all(url, args.rate, args.seconds))
        _print_cpu(cpu_before, _cpu_seconds(roots), args.rate * args.seconds)
        _visible_delays(database_url, acknowledged, wait=120)
        _fill(database_url, args.conversations)
        _queue_page(url, database_url)
    finally:
        for process in processes:
            _stop(process)
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
