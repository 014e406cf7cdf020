"""The ``transcrawl`` command: demo, crawl, worker, db, status, extract, translate, models, sites."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from foundation.settings import Settings, redact_url
from schemas.pipeline import DEFAULT_WORKER_QUEUES, worker_queues


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="transcrawl")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Crawl the world's news, extract the articles and translate them to English."""
    ctx.obj = Settings.from_env()


def _servers(settings: Settings, *, postgres: bool = True, redis_server: bool = True) -> Any:
    from foundation.servers import ensure_servers

    servers = ensure_servers(settings, postgres=postgres, redis_server=redis_server)
    for name in servers.started:
        click.echo(f"started embedded {name}", err=True)
    return servers


@main.command()
@click.option("--json", "as_json", is_flag=True, help="End with one JSON summary line on stdout.")
@click.option("--timeout", default=900, show_default=True, help="Seconds to wait for the pipeline.")
@click.option("--serve", is_flag=True, help="Keep the reader page running at the end (Ctrl-C stops it).")
@click.option("--port", default=8000, show_default=True, help="Port of the reader page (a free one if taken).")
@click.pass_obj
def demo(settings: Settings, as_json: bool, timeout: int, serve: bool, port: int) -> None:
    """Crawl a bundled sample news web, extract, translate and store it; summarise; show the reader page."""
    from transcrawl.demo import run_demo

    summary = run_demo(settings, as_json=as_json, timeout=timeout, serve=serve, port=port)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    if summary.get("error"):
        sys.exit(1)


@main.command()
@click.argument("site_ids", nargs=-1)
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file or folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-site report as JSON.")
@click.option("--log-level", default="WARNING", show_default=True)
@click.pass_obj
def crawl(settings: Settings, site_ids: tuple[str, ...], registry: Path | None, as_json: bool,
          log_level: str) -> None:
    """Crawl SITE_IDS (all registry sites when none) once, queueing articles for the workers."""
    from crawler import registry as reg
    from crawler.run import crawl as run_crawl

    sites = reg.select(reg.load(registry or settings.sites), site_ids)
    servers = _servers(settings, postgres=False)  # the crawler only talks to Redis
    from foundation.observability import init_sentry

    init_sentry(servers.settings, component="crawler")
    scrapy_level = log_level
    if servers.settings.log_json:
        from foundation.observability import setup_logging

        setup_logging(servers.settings, level=log_level)
        scrapy_level = "CRITICAL"  # Scrapy's own text handler stays quiet; ours writes JSON lines
    reports = run_crawl(sites, servers.settings, log_level=scrapy_level)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False))
    else:
        for r in reports:
            state = "ok" if r.ok else "SKIPPED" if r.finish_reason == "locked" else "PROBLEMS"
            click.echo(f"{r.site:24} {state:8} fetched={r.pages_fetched} skipped_seen="
                       f"{r.articles_skipped_seen} errors={r.article_errors} ({r.finish_reason})")
            for problem in r.problems:
                click.echo(f"    - {problem}")


@main.command()
@click.option("--queues", "-Q", default=",".join(DEFAULT_WORKER_QUEUES), show_default=True)
@click.option("--concurrency", "-c", type=int, default=None,
              help="Pool size: processes of the extract/store node (default: CPU count). A translate "
                   "node's pool holds one article a thread (default: TRANSCRAWL_TRANSLATE_CONCURRENCY); "
                   "-c sets it only for a worker of translate queues alone.")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. worker1@%h (the translate node "
                                                     "beside it is worker1-translate@%h).")
@click.option("--pool", default=None, help="Celery pool (default: prefork for extract/store, threads "
                                           "for the translate node).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--languages", default=None,
              help="Translate only these source languages (e.g. zh,de): consume their dedicated "
                   "queues (translate.zh, …) instead of the general translate queue.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus /metrics on this port (default: TRANSCRAWL_METRICS_PORT; 0 = off; "
                   "the translate node serves on the next port).")
@click.option("--held-by-supervisor", is_flag=True, hidden=True,
              help="Internal: a translate node started by `transcrawl worker` records what it holds.")
@click.pass_obj
def worker(settings: Settings, queues: str, concurrency: int | None, hostname: str | None,
           pool: str | None, loglevel: str, languages: str | None, metrics_port: int | None,
           held_by_supervisor: bool) -> None:
    """Run the pipeline's Celery workers (TRANSCRAWL_LOG_JSON=1: JSON log lines).

    Extract and store run in a prefork node in this process; translate queues in a translate node
    (one process, many threads, articles batched into shared engine rounds), started beside it as a
    child process and restarted if it dies. See transcrawl/nodes.py.
    """
    import dataclasses

    from transcrawl.nodes import (
        HeldDeliveries,
        TranslateNode,
        limit_malloc_arenas,
        node_name,
        split_queues,
        translate_hostname,
    )

    from workers.translate.routes import preferences

    try:
        preferences(settings.models_prefer)  # malformed: refuse to start, not fail every article
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if metrics_port is not None:
        settings = dataclasses.replace(settings, metrics_port=metrics_port)
    servers = _servers(settings)
    _migrate(servers.settings)
    from workers.app import app, configure

    configure(servers.settings)
    wanted = [lang.strip() for lang in (languages or "").split(",") if lang.strip()]
    stage_queues, translate_queues = split_queues(worker_queues([q for q in queues.split(",") if q], wanted))
    if wanted:
        from workers.routing import keep_advertising

        keep_advertising(servers.settings.redis_url or "", wanted)
    click.echo(f"worker on redis {redact_url(servers.settings.redis_url)}, "
               f"postgres {redact_url(servers.settings.database_url)}", err=True)
    common = ["--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    if not stage_queues:  # a translate worker only (a GPU box): this process is the translate node
        limit_malloc_arenas()
        if held_by_supervisor and hostname:
            from schemas.pipeline import visibility_timeout

            HeldDeliveries(servers.settings.redis_url or "", node_name(["--hostname", hostname]),
                           visibility_timeout(servers.settings.task_time_limit)).record()
        app.worker_main(["worker", "-Q", ",".join(translate_queues),
                         *_translate_pool(servers.settings, pool, concurrency), *common,
                         *(["--hostname", hostname] if hostname else [])])
        return
    node = None
    if translate_queues:
        node = TranslateNode(servers.settings, ["-Q", ",".join(translate_queues), "--loglevel", loglevel,
                                                "--hostname", translate_hostname(hostname)])
        node.start()
    from workers.orphans import Sweeper

    # Messages a killed worker had popped but not yet recorded are lost to kombu; their raw pages
    # are not (workers/orphans.py). Stage nodes sweep for them; translate-only boxes need no Postgres.
    sweeper = Sweeper(servers.settings, node_name(["--hostname", hostname]) if hostname else node_name([]))
    sweeper.start()
    argv = ["worker", "-Q", ",".join(stage_queues), "--pool", pool or "prefork", *common]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    try:
        app.worker_main(argv)
    finally:
        sweeper.stop()
        if node is not None:
            node.stop()


def _translate_pool(settings: Settings, pool: str | None, concurrency: int | None) -> list[str]:
    """Celery options of a translate node: threads, as many as the articles it may hold."""
    from workers.translate.loading import choose_device, choose_translate_concurrency

    if not concurrency:
        concurrency = choose_translate_concurrency(settings, choose_device(settings)[0])
    return ["--pool", pool or "threads", "--concurrency", str(concurrency)]


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.pass_obj
def db_migrate(settings: Settings) -> None:
    """Apply the SQL migrations in schemas/migrations that are not applied yet."""
    servers = _servers(settings)
    applied = _migrate(servers.settings)
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


def _migrate(settings: Settings) -> list[str]:
    from schemas.migrate import migrate

    assert settings.database_url
    return [f"{m.version:04d}_{m.name}" for m in migrate(settings.database_url)]


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(settings: Settings, as_json: bool) -> None:
    """Queue depths, article counts by status and language, recent failures, last crawls."""
    from transcrawl.status import gather

    servers = _servers(settings)
    _migrate(servers.settings)
    info = gather(servers.settings)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, default=str))
        return
    from transcrawl.render import print_status

    print_status(info)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", "processes", default=1, show_default=True, help="Server processes.")
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, processes: int, log_level: str) -> None:
    """The reader service: read API (/v1), feeds and the reader page at /, read-only."""
    from readers.serve import run_server

    if settings.reader_database_url:
        database_url = settings.reader_database_url
    else:  # the owner's URL (embedded or not): bring its schema up to date, then read as the reader
        servers = _servers(settings, redis_server=False)  # the reader service never talks to Redis
        _migrate(servers.settings)
        database_url = servers.settings.database_url or ""
    click.echo(f"reader service on http://{host}:{port}/ (API /v1, feeds /feeds, "
               f"postgres {redact_url(database_url)})", err=True)
    run_server(settings, database_url, host=host, port=port, processes=processes, log_level=log_level)


@main.command()
@click.argument("paths", nargs=-1, required=True)
def extract(paths: tuple[str, ...]) -> None:
    """Extract articles from HTML or .html.gz files: one JSON object per line, in input order."""
    from workers.extraction import extract_file

    for path in paths:
        click.echo(json.dumps(extract_file(path), ensure_ascii=False))


@main.command()
@click.option("--source", "source_lang", help="Source language (ISO 639-1) of stdin.")
@click.option("--beam-size", type=int, default=None, help="Beam size (default: settings).")
@click.option("--backfill", is_flag=True, help="Queue stored untranslated articles for translation.")
@click.pass_obj
def translate(settings: Settings, source_lang: str | None, beam_size: int | None, backfill: bool) -> None:
    """Translate stdin to English, one paragraph per line (or --backfill stored articles)."""
    if backfill:
        from transcrawl.backfill import backfill as run_backfill

        servers = _servers(settings)
        _migrate(servers.settings)
        queued, skipped = run_backfill(servers.settings, [source_lang] if source_lang else None)
        click.echo(f"queued {queued} article(s) for translation; {skipped} still without a model")
        return
    if not source_lang:
        raise click.UsageError("--source is required (or use --backfill)")
    from workers.translate import ModelNotInstalled, get_translator

    lines = sys.stdin.read().splitlines()
    try:
        [english] = get_translator(settings).translate_documents(source_lang, [lines], beam_size=beam_size)
    except ModelNotInstalled as exc:
        raise click.ClickException(exc.detail) from exc
    for line in english:
        click.echo(line)


@main.group()
def models() -> None:
    """Translation models in TRANSCRAWL_MODELS_DIR."""


@models.command("install")
@click.argument("source")
@click.option("--source-lang", help="Source language, for a bare CTranslate2 folder.")
@click.option("--target-lang", default=None, help="Target language, for a bare CTranslate2 folder.")
@click.pass_obj
def models_install(settings: Settings, source: str, source_lang: str | None, target_lang: str | None) -> None:
    """Install SOURCE: an archive (.argosmodel, .zip, .tar.gz) or its URL, a CTranslate2 folder, or a
    name in TRANSCRAWL_MODELS_INDEX_URL's index (a pair such as zh-en, or a code such as translate-zh_en)."""
    from workers.translate import install_model

    from workers.translate.families import get, licence_note

    try:
        model = install_model(source, settings.models_path, source_lang=source_lang, target_lang=target_lang,
                              index_url=settings.models_index_url)
    except (OSError, ValueError, LookupError) as exc:
        raise click.ClickException(f"{exc} (installed models are unchanged)") from exc
    if model.multilingual:
        click.echo(f"installed {get(model.family).title} {model.name}: {len(model.languages)} languages "
                   f"→{model.target}, in {model.path}")
    else:
        click.echo(f"installed {model.source}→{model.target} ({model.name}) in {model.path}")
    click.echo(f"licence: {licence_note(model.licence)}")
    if model.credit:
        click.echo(f"credit: {model.credit}")


@models.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def models_list(settings: Settings, as_json: bool) -> None:
    """Installed models, one language pair per line."""
    from workers.translate import list_models

    from workers.translate.families import licence_note, non_commercial

    found = list_models(settings.models_path)
    if as_json:
        click.echo(json.dumps([{"source": m.source, "target": m.target, "name": m.name, "family": m.family,
                                "licence": m.licence, "commercial_use_forbidden": non_commercial(m.licence),
                                "languages": list(m.languages), "path": str(m.path)} for m in found]))
        return
    if not found:
        click.echo(f"no models in {settings.models_path}; try `transcrawl models install zh-en`")
    for m in found:
        pair = f"mul({len(m.languages)})-{m.target}" if m.multilingual else f"{m.source}-{m.target}"
        click.echo(f"{pair}\t{m.name}\t{m.family}\t{licence_note(m.licence)}\t{m.path}")


@models.command("coverage")
@click.option("--json", "as_json", is_flag=True)
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file or folder.")
@click.pass_obj
def models_coverage(settings: Settings, as_json: bool, registry: Path | None) -> None:
    """Every registry language, its number of sites and its route to English (or how to get one)."""
    from collections import Counter

    from crawler import registry as reg
    from workers.translate.routes import coverage

    counts = Counter(site.language for site in reg.load(registry or settings.sites))
    try:
        rows = coverage(settings.models_path, counts, prefer=settings.models_prefer)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], ensure_ascii=False))
        return
    for row in rows:
        where = row.route.describe() if row.route else f"none: {row.hint}"
        click.echo(f"{row.language}\t{row.sites:3d} site(s)\t{row.name}\t{where}")
    missing = [row for row in rows if row.route is None]
    click.echo(f"{len(rows) - len(missing)} of {len(rows)} languages have a route; "
               f"{sum(r.sites for r in missing)} site(s) wait for one")


@main.group()
def sites() -> None:
    """The site registry."""


@sites.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--registry", type=click.Path(path_type=Path))
@click.pass_obj
def sites_list(settings: Settings, as_json: bool, registry: Path | None) -> None:
    """Every registry entry (validated)."""
    from crawler import registry as reg

    entries = reg.load(registry or settings.sites)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in entries], ensure_ascii=False))
        return
    for s in entries:
        click.echo(f"{s.id:28} {s.country} {s.language}  {s.homepage}")


@sites.command("check")
@click.argument("site_ids", nargs=-1)
@click.option("--timeout", default=20.0, show_default=True, help="Seconds per feed or sitemap.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--registry", type=click.Path(path_type=Path))
@click.pass_obj
def sites_check(settings: Settings, site_ids: tuple[str, ...], timeout: float, as_json: bool,
                registry: Path | None) -> None:
    """Fetch every feed and sitemap of SITE_IDS (all when none) and report per site (needs internet)."""
    from crawler import registry as reg
    from crawler.check import check_sites

    results = check_sites(reg.select(reg.load(registry or settings.sites), site_ids), timeout=timeout)
    for result in results:
        if as_json:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            continue
        click.echo(f"{result.site:32} {'ok' if result.ok else 'FAILED'}")
        for source in result.results:
            detail = f"{source.links} links" if source.ok else source.error
            click.echo(f"    {source.kind:8} {source.status or '-':>4} {source.url}  {detail}")
    if not all(r.ok for r in results):
        sys.exit(1)


@main.group()
def failures() -> None:
    """What did not become an article, and replaying it."""


@failures.command("list")
@click.option("--reason", help="Only this reason code (e.g. no_text, http_404).")
@click.option("--stage", type=click.Choice(["crawl", "extract", "translate", "store"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def failures_list(settings: Settings, reason: str | None, stage: str | None, limit: int, as_json: bool) -> None:
    """Open failures, newest first."""
    import psycopg

    from transcrawl.replay import open_failures

    servers = _servers(settings)
    _migrate(servers.settings)
    with psycopg.connect(servers.settings.database_url) as conn:
        rows = open_failures(conn, reason=reason, stage=stage, limit=limit)
    for row in rows:
        if as_json:
            click.echo(json.dumps({k: v for k, v in row.items() if k != "payload"}, default=str))
        else:
            click.echo(f"{row['at']:%Y-%m-%d %H:%M} {row['stage']:9} {row['reason']:18} {row['url']}"
                       f"  ({row['attempts']}x) {row['detail'] or ''}"[:240])


@failures.command("requeue-orphans")
@click.option("--older-than", default=600.0, show_default=True,
              help="Only raw pages fetched at least this many seconds ago.")
@click.pass_obj
def failures_requeue_orphans(settings: Settings, older_than: float) -> None:
    """After a Redis crash: extract again every raw page in Redis whose article is not stored,
    and delete those whose article is (their claim check was spent but not deleted)."""
    from transcrawl.replay import requeue_orphans

    servers = _servers(settings)
    _migrate(servers.settings)
    counts = requeue_orphans(servers.settings, older_than=older_than)
    click.echo(f"requeued {counts['requeued']} raw page(s),"
               f" deleted {counts['spent']} spent claim check(s)")


@failures.command("retry")
@click.option("--reason", help="Only this reason code.")
@click.option("--stage", type=click.Choice(["crawl", "extract", "translate", "store"]))
@click.pass_obj
def failures_retry(settings: Settings, reason: str | None, stage: str | None) -> None:
    """Resend failed messages (or schedule a re-fetch when the raw page is gone)."""
    from transcrawl.replay import retry

    servers = _servers(settings)
    _migrate(servers.settings)
    counts = retry(servers.settings, reason=reason, stage=stage)
    click.echo(f"resent {counts['resent']} message(s); {counts['recrawl']} URL(s) will be fetched "
               "again by their site's next crawl")


@main.command()
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file or folder.")
@click.option("--once", is_flag=True, help="One tick: start the due crawls, wait for them, exit.")
@click.option("--log-level", default="WARNING", show_default=True, help="Log level of the crawls.")
@click.pass_obj
def scheduler(settings: Settings, registry: Path | None, once: bool, log_level: str) -> None:
    """Crawl each site when its crawl_interval has passed (skipping locked and disabled sites)."""
    import logging

    from transcrawl.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    servers = _servers(settings, postgres=False)
    click.echo(f"scheduler: every {settings.scheduler_tick}s, batches of {settings.scheduler_batch} site(s),"
               f" {settings.scheduler_processes} crawl process(es) at most", err=True)
    Scheduler(servers.settings, registry, log_level=log_level).run(once=once)


@sites.command("enable")
@click.argument("site_ids", nargs=-1, required=True)
@click.pass_obj
def sites_enable(settings: Settings, site_ids: tuple[str, ...]) -> None:
    """Clear the unhealthy flag of SITE_IDS: the scheduler crawls them again."""
    import redis

    from crawler.records import enable

    client = redis.Redis.from_url(_servers(settings, postgres=False).settings.redis_url or "")
    for site in site_ids:
        click.echo(f"{site}: {'enabled' if enable(client, site) else 'was not disabled'}")


@sites.command("disable")
@click.argument("site_ids", nargs=-1, required=True)
@click.option("--reason", default="disabled by hand", show_default=True)
@click.pass_obj
def sites_disable(settings: Settings, site_ids: tuple[str, ...], reason: str) -> None:
    """Flag SITE_IDS so the scheduler skips them until `transcrawl sites enable`."""
    import redis

    from crawler.records import disable

    client = redis.Redis.from_url(_servers(settings, postgres=False).settings.redis_url or "")
    for site in site_ids:
        disable(client, site, reason)
        click.echo(f"{site}: disabled ({reason})")


@main.command("crawl-runs")
@click.argument("site_id", required=False)
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def crawl_runs(settings: Settings, site_id: str | None, limit: int, as_json: bool) -> None:
    """The last crawl runs (of SITE_ID, or of every site), newest first."""
    from crawler.records import recent_runs

    servers = _servers(settings)
    _migrate(servers.settings)
    for run in recent_runs(servers.settings.database_url or "", site_id, limit):
        if as_json:
            click.echo(json.dumps(run, default=str, ensure_ascii=False))
            continue
        click.echo(f"{run['started_at']:%Y-%m-%d %H:%M:%S} {run['site']:24} {run['status']:8}"
                   f" pages={run['pages_fetched']} new={run['new_articles']} 304={run['not_modified']}"
                   f" errors={run['errors']} ({run['finish_reason']})")
        for problem in run["problems"][:5]:
            click.echo(f"    - {problem}"[:240])


if __name__ == "__main__":
    main()
