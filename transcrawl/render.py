"""Rich tables for the terminal: the status screen and the demo summary."""

from __future__ import annotations

import time
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.table import Table


def print_status(info: dict[str, Any], console: Console | None = None) -> None:
    """The status screen: queues and workers, articles (all and last 24 h), sites, failures."""
    console = console or Console()
    pressure = info.get("backpressure") or {}
    title = "Queues"
    if pressure.get("max_queued_pages"):
        state = "[red]crawlers holding[/red]" if pressure.get("holding") else "crawlers running"
        title += f" (extract bound {pressure['max_queued_pages']}: {state})"
    queues = Table(title=title, box=box.SIMPLE)
    for name in info["queues"]:
        queues.add_column(name, justify="right")
    queues.add_row(*(str(v) for v in info["queues"].values()))
    workers = info.get("workers", [])
    alive = ", ".join(w["name"] for w in workers if w.get("ok")) or "[red]none answered[/red]"
    console.print(Columns([queues, f"[b]Workers alive ({sum(1 for w in workers if w.get('ok'))})[/b]\n"
                                   f"{alive}"]))
    day = info.get("last_24h") or {"articles": 0, "by_status": {}, "by_language": {}}
    articles = Table(title=f"Articles: {info['articles']} stored, {day['articles']} in the last 24 h",
                     box=box.SIMPLE)
    for column in ("status", "all", "24 h", "language", "all ", "24 h "):
        articles.add_column(column, justify="left" if column.strip() in ("status", "language") else "right")
    statuses = sorted(info["by_status"])
    languages = list(info["by_language"])
    for i in range(max(len(statuses), len(languages))):
        row: list[str] = []
        for keys, everything, recent in ((statuses, info["by_status"], day["by_status"]),
                                         (languages, info["by_language"], day["by_language"])):
            key = keys[i] if i < len(keys) else None
            row += [key, str(everything[key]), str(recent.get(key, 0))] if key else ["", "", ""]
        articles.add_row(*row)
    console.print(articles)
    if info.get("crawls"):
        crawls = Table(title="Sites: last crawl and health", box=box.SIMPLE)
        for column in ("site", "health", "fetched", "errors", "finished", "ago"):
            crawls.add_column(column)
        for c in info["crawls"]:
            colour = "green" if c.get("health") == "ok" else "yellow" if c.get("health") in ("partial", "stale") else "red"
            crawls.add_row(c["site"], f"[{colour}]{c.get('health', '?')}[/{colour}]", str(c["pages_fetched"]),
                           str(c["article_errors"] + c["discovery_errors"]), c["finish_reason"],
                           _ago(c.get("finished_at")))
        console.print(crawls)
    if info.get("disabled_sites"):
        flagged = Table(title="Disabled sites (skipped by the scheduler; `transcrawl sites enable SITE`)",
                        box=box.SIMPLE)
        for column in ("site", "failed runs", "reason"):
            flagged.add_column(column, overflow="fold")
        for h in info["disabled_sites"]:
            flagged.add_row(h["site"], str(h["bad_runs"]), h["disabled_reason"] or "")
        console.print(flagged)
    missing = info.get("without_route") or []
    if missing:
        table = Table(title=f"Languages without a route to English ({len(missing)}; `transcrawl models coverage`)",
                      box=box.SIMPLE)
        for column in ("language", "sites", "install"):
            table.add_column(column, overflow="fold")
        for entry in missing:
            table.add_row(f"{entry['language']} ({entry['name']})", str(entry["sites"]), entry["install"] or "")
        console.print(table)
    reasons = info.get("failures_by_reason", [])
    if reasons:
        top = Table(title=f"Top failure reasons ({info.get('failures', 0)} open)", box=box.SIMPLE)
        for column in ("stage", "reason", "count"):
            top.add_column(column, justify="right" if column == "count" else "left")
        for r in reasons[:8]:
            top.add_row(r["stage"], r["reason"], str(r["count"]))
        console.print(top)
    print_failures(info.get("recent_failures", [])[:5], console)


def _ago(when: Any) -> str:
    if not when:
        return "-"
    seconds = max(0, int(time.time() - float(when)))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def print_failures(failures: list[dict[str, Any]], console: Console) -> None:
    if not failures:
        console.print("No open failures.")
        return
    table = Table(title="Recent failures")
    for column in ("stage", "reason", "url", "detail"):
        table.add_column(column, overflow="fold")
    for f in failures:
        table.add_row(f["stage"], f["reason"], f["url"], (f.get("detail") or "")[:120])
    console.print(table)
