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


def _servers(settings: Settings, *, postgres: bool = True) -> Any:
    from foundation.servers import ensure_servers

    servers = ensure_servers(settings, postgres=postgres)
    for name in servers.started:
        click.echo(f"started embedded {name}", err=True)
    return servers


@main.command()
@click.option("--json", "as_json", is_flag=True, help="End with one JSON summary line on stdout.")
@click.option("--timeout", default=900, show_default=True, help="Seconds to wait for the pipeline.")
@click.pass_obj
def demo(settings: Settings, as_json: bool, timeout: int) -> None:
    """Crawl a bundled sample news web, extract, translate and store it; then summarise."""
    from transcrawl.demo import run_demo

    summary = run_demo(settings, as_json=as_json, timeout=timeout)
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
@click.option("--concurrency", "-c", type=int, default=None, help="Processes (default: CPU count).")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. translate1@%h.")
@click.option("--pool", default="prefork", show_default=True)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--languages", default=None,
              help="Translate only these source languages (e.g. zh,de): consume their dedicated "
                   "queues (translate.zh, …) instead of the general translate queue.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus /metrics on this port (default: TRANSCRAWL_METRICS_PORT; 0 = off).")
@click.pass_obj
def worker(settings: Settings, queues: str, concurrency: int | None, hostname: str | None,
           pool: str, loglevel: str, languages: str | None, metrics_port: int | None) -> None:
    """Run a Celery worker for the pipeline's queues (TRANSCRAWL_LOG_JSON=1: JSON log lines)."""
    if metrics_port is not None:
        import dataclasses

        settings = dataclasses.replace(settings, metrics_port=metrics_port)
    servers = _servers(settings)
    _migrate(servers.settings)
    from workers.app import app, configure

    configure(servers.settings)
    wanted = [lang.strip() for lang in (languages or "").split(",") if lang.strip()]
    queues = ",".join(worker_queues([q for q in queues.split(",") if q], wanted))
    if wanted:
        from workers.routing import keep_advertising

        keep_advertising(servers.settings.redis_url or "", wanted)
    argv = ["worker", "-Q", queues, "--pool", pool, "--loglevel", loglevel, "--without-gossip",
            "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    click.echo(f"worker on redis {redact_url(servers.settings.redis_url)}, "
               f"postgres {redact_url(servers.settings.database_url)}", err=True)
    app.worker_main(argv)


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
    """Install SOURCE: an .argosmodel file or URL, a CTranslate2 folder, or a pair such as zh-en."""
    from workers.translate import install_model

    model = install_model(source, settings.models_path, source_lang=source_lang, target_lang=target_lang)
    click.echo(f"installed {model.source}→{model.target} ({model.name}) in {model.path}")
    if model.credit:
        click.echo(f"credit: {model.credit}")


@models.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def models_list(settings: Settings, as_json: bool) -> None:
    """Installed models, one language pair per line."""
    from workers.translate import list_models

    found = list_models(settings.models_path)
    if as_json:
        click.echo(json.dumps([{"source": m.source, "target": m.target, "name": m.name,
                                "path": str(m.path)} for m in found]))
        return
    if not found:
        click.echo(f"no models in {settings.models_path}; try `transcrawl models install zh-en`")
    for m in found:
        click.echo(f"{m.source}-{m.target}\t{m.name}\t{m.path}")


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
