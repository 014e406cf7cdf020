"""The read API as users run it (``transcrawl serve``), against its own SQL run directly, in one run.

    TRANSCRAWL_DATABASE_URL=postgresql://root@127.0.0.1:5432/postgres python bench/serve.py [--write-docs]

1. A database of its own (``transcrawl_bench_serve``) on the server of ``TRANSCRAWL_DATABASE_URL``,
   migrated, emptied and filled by ``transcrawl.testing.articles.generate`` at each row count
   (1,000, then 100,000), then VACUUM ANALYZEd.
2. ``transcrawl serve --port <free>`` in a subprocess, fresh for each row count, with
   ``TRANSCRAWL_DATABASE_URL`` pointing at that database; ready when /healthz answers.
3. Per scenario, an asyncio client of ``CLIENTS`` keep-alive httpx connections requests the same
   URL (article ids drawn at random) for a warm-up, then a fixed window; no If-None-Match is sent,
   so every answer is a full 200. Right after it, the baseline: the same SQL
   (``readers.queries.list_sql`` and the article, countries queries) over ``CLIENTS`` psycopg
   connections configured as the API's pool configures its own (reader role, read-only,
   statement timeout), same warm-up and window.
4. At the largest row count, ``EXPLAIN (FORMAT JSON)`` of every list query, as the reader role,
   with the parameters bound (the custom plan) and as a generic prepared plan (what a connection
   may switch to after psycopg has prepared the statement).

Client, server and Postgres share this machine's cores; the CPU each used in every window is
reported beside the figures, so the client's share is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from foundation.servers import free_port, stop_process  # noqa: E402
from readers import queries  # noqa: E402
from readers.db import READER_ROLE  # noqa: E402
from schemas.migrate import migrate  # noqa: E402
from transcrawl.testing.articles import generate  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "Read API"
NOTES = "<!-- notes: kept when the bench rewrites this section -->"
DATABASE = "transcrawl_bench_serve"
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/postgres"
CLIENTS = 8
GOAL_P95_MS = 50.0
INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
Call = Callable[[random.Random], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # list, article, countries or feed
    filters: queries.ArticleFilter = queries.ArticleFilter()
    query: tuple[tuple[str, str], ...] = ()
    second_page: bool = False


def scenarios(now: dt.datetime) -> list[Scenario]:
    week_ago = (now - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    since = dt.datetime.strptime(week_ago, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    f = queries.ArticleFilter
    return [
        Scenario("list", "list"),
        Scenario("list country=de", "list", f(country="de"), (("country", "de"),)),
        Scenario("list country=de since=7 days ago", "list", f(country="de", since=since),
                 (("country", "de"), ("since", week_ago))),
        Scenario("list q=flood", "list", f(q="flood"), (("q", "flood"),)),
        Scenario("list q=flood country=fr", "list", f(q="flood", country="fr"),
                 (("q", "flood"), ("country", "fr"))),
        Scenario("list, second page (cursor)", "list", second_page=True),
        Scenario("article /v1/articles/{id}", "article"),
        Scenario("/v1/countries", "countries"),
        Scenario("feed /feeds/de.atom", "feed", f(country="de")),
    ]


# -- the database ---------------------------------------------------------------------------------


def bench_url(server_url: str) -> str:
    """The bench database on ``server_url``'s server, created when absent."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    return urlunsplit(urlsplit(server_url)._replace(path="/" + DATABASE))


def fill(url: str, rows: int, now: dt.datetime) -> tuple[float, list[int]]:
    """Empty the tables, generate ``rows`` articles, VACUUM ANALYZE; the seconds it took and the ids."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE articles, sites, stories CASCADE")
        generate(conn, rows, seed=1, now=now)
        conn.autocommit = True
        # VACUUM as autovacuum would in service (the visibility map lets index-only scans skip
        # the heap), ANALYZE for the planner.
        conn.execute("VACUUM ANALYZE articles")
        conn.execute("VACUUM ANALYZE sites")
        ids = [r[0] for r in conn.execute("SELECT id FROM articles")]
    return time.perf_counter() - started, ids


# -- the server -----------------------------------------------------------------------------------


class Server:
    """``transcrawl serve`` in a subprocess, as a user starts it."""

    def __init__(self, database_url: str, args: list[str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSCRAWL_")}
        env["TRANSCRAWL_DATABASE_URL"] = database_url
        # serve never talks to Redis, but without a Redis URL its start-up launches an embedded
        # one (foundation.servers.ensure_servers) that would outlive it; name one so it does not.
        env["TRANSCRAWL_REDIS_URL"] = os.environ.get("TRANSCRAWL_REDIS_URL", "redis://127.0.0.1:6379/0")
        command = [str(REPO / ".venv" / "bin" / "transcrawl")]
        if not Path(command[0]).exists():
            command = [sys.executable, "-m", "transcrawl.cli"]
        self.process = subprocess.Popen([*command, "serve", "--port", str(self.port), "--log-level", "warning",
                                         *(args or [])],
                                        env=env, cwd=REPO)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"transcrawl serve exited with {self.process.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("transcrawl serve did not answer /healthz within 60 s")

    def __exit__(self, *_: object) -> None:
        stop_process(self.process, timeout=20)


# -- measuring ------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used in a window by this process (the client), the server and Postgres."""

    def __init__(self, server_pid: int | None) -> None:
        self.server = psutil.Process(server_pid) if server_pid else None

    @staticmethod
    def _postgres() -> dict[int, float]:
        out = {}
        for proc in psutil.process_iter(["name", "cpu_times"]):
            if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
                out[proc.pid] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
        return out

    def _sample(self) -> tuple[float, float, dict[int, float], float, float]:
        server = 0.0
        if self.server:  # uvicorn with --workers: the processes under the one started
            for proc in [self.server, *self.server.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    server += sum(proc.cpu_times()[:2])
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return time.process_time(), server, self._postgres(), busy, time.monotonic()

    def start(self) -> None:
        self.began = self._sample()

    def stop(self) -> dict[str, float]:
        """Cores used in the window: client, server, postgres, other."""
        (c0, s0, p0, b0, t0), (c1, s1, p1, b1, t1) = self.began, self._sample()
        wall = t1 - t0
        postgres = sum(v - p0.get(pid, 0.0) for pid, v in p1.items())
        cores = {"client": (c1 - c0) / wall, "server": (s1 - s0) / wall, "postgres": postgres / wall}
        cores["other"] = max(0.0, (b1 - b0) / wall - sum(cores.values()))
        return cores


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


async def drive(calls: list[Call], warmup: float, seconds: float, meter: CpuMeter) -> dict[str, Any]:
    """Each call in its own loop until the window closes; latencies of requests started in it."""
    loop = asyncio.get_running_loop()
    window_start = loop.time() + warmup
    window_end = window_start + seconds
    latencies: list[float] = []
    errors: list[str] = []

    async def client(call: Call, seed: int) -> None:
        rng = random.Random(seed)
        while (began := loop.time()) < window_end:
            try:
                await call(rng)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if began >= window_start:
                latencies.append(loop.time() - began)

    async def metered() -> dict[str, float]:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        meter.start()
        await asyncio.sleep(max(0.0, window_end - loop.time()))
        return meter.stop()

    cpu, *_ = await asyncio.gather(metered(), *(client(c, i) for i, c in enumerate(calls)))
    done = [x * 1000 for x in latencies]
    return {"requests": len(done), "rps": len(done) / seconds, "errors": len(errors), "first_error": errors[:1],
            "p50": statistics.median(done) if done else float("nan"), "p95": percentile(done, 95) if done else float("nan"),
            "p99": percentile(done, 99) if done else float("nan"), "cpu": cpu}


# -- the two sides --------------------------------------------------------------------------------


def http_path(s: Scenario, cursor: str) -> str:
    if s.kind == "countries":
        return "/v1/countries"
    if s.kind == "feed":
        return "/feeds/de.atom"
    query = (*s.query, ("cursor", cursor)) if s.second_page else s.query
    return "/v1/articles" + ("?" + urlencode(query) if query else "")


Get = Callable[[str], Awaitable[tuple[int, bytes]]]


@contextlib.asynccontextmanager
async def http_client(base: str, kind: str) -> AsyncIterator[Get]:
    """``CLIENTS`` keep-alive connections to ``base``; neither library keeps a cache, so no
    request carries If-None-Match and every answer is a full 200."""
    if kind == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(10)) as session:

            async def get_aiohttp(url: str) -> tuple[int, bytes]:
                async with session.get(url) as response:
                    return response.status, await response.read()

            yield get_aiohttp
        return
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as http:

        async def get_httpx(url: str) -> tuple[int, bytes]:
            response = await http.get(url)
            return response.status_code, response.content

        yield get_httpx


async def run_http(base: str, s: Scenario, ids: list[int], cursor: str, args: argparse.Namespace,
                   meter: CpuMeter, client: str | None = None) -> dict[str, Any]:
    path = http_path(s, cursor)
    async with http_client(base, client or args.client) as get:

        async def call(rng: random.Random) -> None:
            url = f"/v1/articles/{rng.choice(ids)}" if s.kind == "article" else path
            status, body = await get(url)
            if status != 200:
                raise RuntimeError(f"{url}: HTTP {status} {body[:120]!r}")

        return await drive([call] * CLIENTS, args.warmup, args.seconds, meter)


async def reader_connection(url: str) -> psycopg.AsyncConnection[Any]:
    """A connection set up as readers.db.reader_pool sets up the API's."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute(f"SET ROLE {READER_ROLE}")  # a constant
    await conn.execute("SET default_transaction_read_only = on")
    await conn.execute("SET statement_timeout = 2000")
    await conn.execute("SET application_name = 'transcrawl-bench-sql'")
    return conn


def sql_call(conn: psycopg.AsyncConnection[Any], s: Scenario, ids: list[int],
             cursor: queries.Cursor | None) -> Call:
    limit = queries.FEED_SIZE if s.kind == "feed" else 20
    query, params = queries.list_sql(s.filters, cursor if s.second_page else None, limit)

    async def call(rng: random.Random) -> None:
        if s.kind == "article":
            if await queries.get_article(conn, rng.choice(ids)) is None:
                raise RuntimeError("article not found")
        elif s.kind == "countries":
            await queries.countries(conn)
        else:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, params)
                await cur.fetchall()

    return call


async def run_sql(url: str, s: Scenario, ids: list[int], cursor: queries.Cursor | None,
                  args: argparse.Namespace, meter: CpuMeter) -> dict[str, Any]:
    conns = [await reader_connection(url) for _ in range(CLIENTS)]
    try:
        result = await drive([sql_call(c, s, ids, cursor) for c in conns], args.warmup, args.seconds, meter)
        plans: list[int] = [0, 0]  # generic, custom: which plans the prepared statements ran with
        for conn in conns:
            for generic, custom in await (await conn.execute(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements")).fetchall():
                plans[0] += generic
                plans[1] += custom
        result["plans"] = plans
        return result
    finally:
        for conn in conns:
            await conn.close()


# -- EXPLAIN --------------------------------------------------------------------------------------


def scan_nodes(plan: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    if "Scan" in plan["Node Type"]:
        found.append({"node": plan["Node Type"], "relation": plan.get("Relation Name", ""),
                      "index": plan.get("Index Name", "")})
    for child in plan.get("Plans", []):
        found.extend(scan_nodes(child))
    return found


def generic_plan(conn: psycopg.Connection[Any], query: sql.Composed, params: dict[str, Any]) -> dict[str, Any]:
    """The plan a prepared statement gets once Postgres switches to its generic plan (PG 15 has no
    EXPLAIN (GENERIC_PLAN)): PREPARE the API's own query with $n for its placeholders, EXPLAIN
    EXECUTE it under plan_cache_mode = force_generic_plan."""
    text = query.as_string(conn)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", text)))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", text)
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.execute(sql.SQL("PREPARE bench_generic AS {}").format(sql.SQL(numbered)))  # the API's SQL, no input
    try:
        cur = psycopg.ClientCursor(conn)  # EXECUTE's arguments are literals
        args = sql.SQL(", ").join(sql.Placeholder() for _ in names)
        cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE bench_generic ({})").format(args),
                    [params[n] for n in names])
        row = cur.fetchone()
        assert row is not None
        return dict(row[0][0]["Plan"])
    finally:
        conn.execute("DEALLOCATE bench_generic")
        conn.execute("RESET plan_cache_mode")


def explain(url: str, cases: list[Scenario], cursor: queries.Cursor | None) -> list[dict[str, Any]]:
    """Scan nodes of every list query's custom and generic plan, as the reader role."""
    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET ROLE {READER_ROLE}")  # a constant
        for s in cases:
            limit = queries.FEED_SIZE if s.kind == "feed" else 20
            query, params = queries.list_sql(s.filters, cursor if s.second_page else None, limit)
            row = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params).fetchone()
            assert row is not None
            custom, generic = scan_nodes(row[0][0]["Plan"]), scan_nodes(generic_plan(conn, query, params))
            ok = all(_indexed(nodes) for nodes in (custom, generic))
            out.append({"name": s.name, "custom": custom, "generic": generic, "indexed": ok})
    return out


def _indexed(nodes: list[dict[str, str]]) -> bool:
    on_articles = [n for n in nodes if n["relation"] == "articles" or n["index"].startswith("articles_")]
    return (any(n["node"] in INDEX_NODES for n in on_articles)
            and not any(n["node"] == "Seq Scan" and n["relation"] == "articles" for n in nodes))


def describe(nodes: list[dict[str, str]]) -> str:
    return ", ".join(f"{n['node']} " + (f"using {n['index']}" if n["index"] else f"on {n['relation']}")
                     for n in nodes)


# -- one row count --------------------------------------------------------------------------------


def first_cursor(base: str) -> str:
    body = httpx.get(base + "/v1/articles", timeout=10).json()
    if not body["next_cursor"]:
        raise SystemExit("the first page has no next_cursor: too few rows")
    return str(body["next_cursor"])


def run_rows(url: str, rows: int, now: dt.datetime, args: argparse.Namespace) -> dict[str, Any]:
    fill_s, ids = fill(url, rows, now)
    print(f"{rows} rows generated and analyzed in {fill_s:.1f} s", flush=True)
    cases = scenarios(now)
    largest = rows == max(args.rows)
    results, compared = [], None
    with Server(url, shlex.split(args.serve_args)) as server:
        cursor = first_cursor(server.base)
        for s in cases:
            api = asyncio.run(run_http(server.base, s, ids, cursor, args, CpuMeter(server.process.pid)))
            direct = asyncio.run(run_sql(url, s, ids, queries.Cursor.decode(cursor), args, CpuMeter(None)))
            results.append({"name": s.name, "kind": s.kind, "api": api, "sql": direct})
            print(f"  {s.name:36} API {api['rps']:6.0f} req/s p95 {api['p95']:6.1f} ms | "
                  f"SQL {direct['rps']:6.0f} req/s p95 {direct['p95']:6.1f} ms", flush=True)
        if largest and default_client() == "aiohttp":
            # The first scenario again with the other client: what the client's own cost does to the figures.
            other = "httpx" if args.client == "aiohttp" else "aiohttp"
            compared = {"client": other, **asyncio.run(run_http(server.base, cases[0], ids, cursor, args,
                                                                CpuMeter(server.process.pid), other))}
    plans = explain(url, [s for s in cases if s.kind in ("list", "feed")], queries.Cursor.decode(cursor)) \
        if largest else []
    return {"rows": rows, "fill_s": fill_s, "results": results, "explain": plans, "compared": compared}


# -- the report -----------------------------------------------------------------------------------


def table(run: dict[str, Any]) -> str:
    lines = [f"**{run['rows']:,} rows**", "",
             "| scenario | API req/s | API p50 / p95 / p99 ms | SQL req/s | SQL p50 / p95 / p99 ms "
             "| API p50 − SQL p50 | cores in the API window: client / server / Postgres / other |",
             "|---|---|---|---|---|---|---|"]
    for r in run["results"]:
        a, d = r["api"], r["sql"]
        cpu = a["cpu"]
        errors = f" ({a['errors']} errors)" if a["errors"] else ""
        lines.append(f"| {r['name']} | {a['rps']:.0f}{errors} | {a['p50']:.1f} / {a['p95']:.1f} / {a['p99']:.1f} "
                     f"| {d['rps']:.0f} | {d['p50']:.2f} / {d['p95']:.2f} / {d['p99']:.2f} "
                     f"| {a['p50'] - d['p50']:.1f} ms | {cpu['client']:.2f} / {cpu['server']:.2f} / "
                     f"{cpu['postgres']:.2f} / {cpu['other']:.2f} |")
    return "\n".join(lines)


def explain_lines(plans: list[dict[str, Any]], rows: int) -> str:
    if not plans:
        return ""
    lines = [f"EXPLAIN (FORMAT JSON) of each list query at {rows:,} rows, as `{READER_ROLE}` "
             "(custom plan: parameters bound; generic: a prepared plan under `plan_cache_mode = force_generic_plan`):",
             "", "| query | scans, custom plan | scans, generic plan | index scan, no Seq Scan on articles |",
             "|---|---|---|---|"]
    for p in plans:
        lines.append(f"| {p['name']} | {describe(p['custom'])} | {describe(p['generic'])} | "
                     f"{'yes' if p['indexed'] else '**NO**'} |")
    return "\n".join(lines)


def goals(runs: list[dict[str, Any]]) -> list[str]:
    largest = max(runs, key=lambda r: r["rows"])
    lists = [r for r in largest["results"] if r["kind"] == "list"]
    worst = max(lists, key=lambda r: r["api"]["p95"])
    out = [f"- {'PASS' if worst['api']['p95'] < GOAL_P95_MS else 'FAIL'}: p95 of list pages at "
           f"{largest['rows']:,} rows under {GOAL_P95_MS:.0f} ms (worst: {worst['name']}, {worst['api']['p95']:.1f} ms)"]
    if largest["explain"]:
        bad = [p["name"] for p in largest["explain"] if not p["indexed"]]
        out.append(f"- {'PASS' if not bad else 'FAIL'}: every list query walks an index, no Seq Scan on articles"
                   + (f" (not: {', '.join(bad)})" if bad else ""))
    errors = sum(r["api"]["errors"] + r["sql"]["errors"] for run in runs for r in run["results"])
    out.append(f"- {'PASS' if not errors else 'FAIL'}: every request answered 200 ({errors} errors)")
    return out


def per_request(result: dict[str, Any], who: str) -> float:
    """Milliseconds of ``who``'s CPU a request, in a window."""
    return float(result["cpu"][who] / result["rps"] * 1000) if result["rps"] else float("nan")


def findings(runs: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """What the figures say about the client, the HTTP layer and the plans, from this run."""
    largest = max(runs, key=lambda r: r["rows"])
    api = [r["api"] for r in largest["results"]]
    lists = [r for r in largest["results"] if r["kind"] == "list"]
    out = [
        f"- **The client's share**: {args.client} used {statistics.mean(a['cpu']['client'] for a in api):.2f} "
        f"of the 2 cores on average in the API windows at {largest['rows']:,} rows "
        f"({statistics.median(per_request(a, 'client') for a in api):.2f} ms of CPU a request, median "
        f"over scenarios); the rest of the machine (`other`: jobs outside this bench) "
        f"{statistics.mean(a['cpu']['other'] for a in api):.2f}.",
        f"- **The HTTP layer**: per list page the server process spent "
        f"{statistics.median(per_request(r['api'], 'server') for r in lists):.1f} ms of CPU, Postgres "
        f"{statistics.median(per_request(r['api'], 'postgres') for r in lists):.2f} ms (in the SQL baseline "
        f"{statistics.median(per_request(r['sql'], 'postgres') for r in lists):.2f} ms a query; medians over "
        f"the list scenarios at {largest['rows']:,} rows). With {CLIENTS} clients on one server process, "
        "the API's latency is mostly requests queueing for that process's core (FastAPI, the JSON of "
        "20 summaries, the ETag hash), not Postgres.",
    ]
    if largest["compared"]:
        c, first = largest["compared"], largest["results"][0]["api"]
        out.append(f"- **Client library**: `{largest['results'][0]['name']}` again with {c['client']}: "
                   f"{c['rps']:.0f} req/s, p50 / p95 {c['p50']:.1f} / {c['p95']:.1f} ms, "
                   f"{per_request(c, 'client'):.2f} ms of client CPU a request (against {first['rps']:.0f} req/s, "
                   f"{first['p50']:.1f} / {first['p95']:.1f} ms, {per_request(first, 'client'):.2f} ms with "
                   f"{args.client}): a heavier client takes the CPU the server needs.")
    return out


def report(runs: list[dict[str, Any]], args: argparse.Namespace, load: tuple[float, ...]) -> str:
    plans: list[dict[str, Any]] = next((r["explain"] for r in runs if r["explain"]), [])
    largest = max(runs, key=lambda r: r["rows"])
    generic = ", ".join(f"{r['name']} {r['sql']['plans'][0]}/{sum(r['sql']['plans'])}"
                        for r in largest["results"] if sum(r["sql"]["plans"]))
    fills = ", ".join(f"{r['rows']:,} rows {r['fill_s']:.1f} s" for r in runs)
    parts = [
        f"Command: `{args.command}` ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, this {os.cpu_count()}-core "
        f"machine, local Postgres {args.pg_version}; load average {load[0]:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end: other jobs share the machine).",
        "",
        f"`transcrawl serve` (one uvicorn process, its pool of up to 8 reader connections) on a database "
        f"filled by `transcrawl.testing.articles.generate` and VACUUM ANALYZEd ({fills}). Load: {CLIENTS} "
        f"keep-alive connections of one asyncio {args.client} client on the same machine, each sending "
        f"its next request when the last is answered, for {args.warmup:g} s of warm-up, then "
        f"{args.seconds:g} s measured per scenario; no If-None-Match, so every answer is a full 200. "
        f"SQL is the baseline: the query the API runs (`readers.queries.list_sql`, the article and "
        f"countries queries), over {CLIENTS} psycopg connections set up as the API's pool sets up its "
        "own, same window, run right after the API's. Latency is per request at the client.",
        "", *(table(r) + "\n" for r in runs),
        "The last column is the CPU each side used in the API window, in cores busy on average "
        "(`other`: the rest of the machine). Client, server and Postgres share the 2 cores, so the "
        "client's share is CPU the server did not get.",
        "",
        explain_lines(plans, max(args.rows)), "",
        f"Prepared statements in the SQL baseline at {largest['rows']:,} rows (psycopg prepares a query "
        f"after 5 runs; Postgres may then switch to the generic plan), generic-plan executions / "
        f"executions of the prepared statement: {generic or 'none'}.",
        "", *goals(runs), "", *findings(runs, args), "",
    ]
    return "\n".join(parts)


def write_docs(body: str) -> None:
    """Replace (or append) ``## Read API`` in docs/benchmarks.md, keeping its notes block."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    header = f"## {SECTION}\n"
    start = text.find(header)
    end = text.find("\n## ", start + len(header)) if start >= 0 else -1
    old = text[start:end if end >= 0 else len(text)] if start >= 0 else ""
    notes = old[old.find(NOTES):].rstrip("\n") + "\n" if NOTES in old else ""
    block = f"{header}\n{body.rstrip()}\n\n{notes}" if notes else f"{header}\n{body.rstrip()}\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        text = text[:start] + block + (text[end:] if end >= 0 else "")
    DOCS.write_text(text, encoding="utf-8")


def default_client() -> str:
    """aiohttp where installed (Scrapy brings it), else httpx (the bench extra's)."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "httpx"
    return "aiohttp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000,100000", help="row counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per scenario and side")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each window")
    parser.add_argument("--database-url", default=os.environ.get("TRANSCRAWL_DATABASE_URL") or DEFAULT_URL,
                        help="a Postgres server; the bench makes its own database on it")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default=default_client(),
                        help="the load client (default aiohttp where installed: far less CPU a request)")
    parser.add_argument("--serve-args", default="", help="extra `transcrawl serve` options, e.g. --workers 2")
    parser.add_argument("--write-docs", action="store_true", help=f"write the ## {SECTION} section of {DOCS.name}")
    args = parser.parse_args()
    args.rows = [int(n) for n in args.rows.split(",")]
    args.command = "python bench/serve.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()
    url = bench_url(args.database_url)
    migrate(url)
    with psycopg.connect(url) as conn:
        args.pg_version = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    runs = [run_rows(url, rows, now, args) for rows in args.rows]
    body = report(runs, args, load)
    print("\n" + body)
    if args.write_docs:
        write_docs(body)


if __name__ == "__main__":
    main()
