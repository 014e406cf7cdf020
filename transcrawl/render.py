"""Rich tables for the terminal: the status screen and the demo summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_status(info: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    queues = Table(title="Queues")
    for name in info["queues"]:
        queues.add_column(name, justify="right")
    queues.add_row(*(str(v) for v in info["queues"].values()))
    console.print(queues)
    articles = Table(title=f"Articles ({info['articles']})")
    articles.add_column("status")
    articles.add_column("count", justify="right")
    for status, count in sorted(info["by_status"].items()):
        articles.add_row(status, str(count))
    console.print(articles)
    languages = Table(title="By language")
    languages.add_column("language")
    languages.add_column("count", justify="right")
    for language, count in info["by_language"].items():
        languages.add_row(language, str(count))
    console.print(languages)
    if info.get("crawls"):
        crawls = Table(title="Last crawl per site")
        for column in ("site", "ok", "fetched", "errors", "finished"):
            crawls.add_column(column)
        for c in info["crawls"]:
            crawls.add_row(c["site"], "yes" if c["ok"] else "no", str(c["pages_fetched"]),
                           str(c["article_errors"] + c["discovery_errors"]), c["finish_reason"])
        console.print(crawls)
    print_failures(info.get("recent_failures", []), console)


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
