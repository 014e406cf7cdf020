"""External development pages for bench/extract.py, read where they lie (a checkout or a git mirror).

Never copied into this repository: ``--dev PATH`` (or ``TRANSCRAWL_EXTRACT_DEV``, paths joined by
``os.pathsep``) names a folder or a bare git directory holding one of these public corpora:

- AndyTheFactory/article-extraction-dataset: ``articles.json`` + ``html/<id>.html`` (424 pages,
  212 sites, mostly English; gold title, day and hand-cleaned body);
- dobbersc/fundus-evaluation: ``dataset/ground_truth.json`` + ``dataset/html/*.html.gz`` (80 pages,
  16 English publishers; gold body paragraphs only, so title and date are not scored there).
"""

from __future__ import annotations

import gzip
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit


@dataclass
class DevPage:
    url: str
    html: bytes
    gold: dict[str, Any]  # the shared corpus's keys: publisher, title, publishing_date, body


class _Source:
    """Files of a folder, or of HEAD in a bare git directory (blobs a mirror lacks read as None)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = (root / "HEAD").is_file() and (root / "objects").is_dir()

    def read(self, path: str) -> bytes | None:
        if not self.git:
            file = self.root / path
            return file.read_bytes() if file.is_file() else None
        done = subprocess.run(["git", "--git-dir", str(self.root), "show", f"HEAD:{path}"],
                              capture_output=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def read_many(self, paths: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """One ``git cat-file --batch`` for all paths: a process per page would dominate the load."""
        if not self.git:
            yield from ((p, self.read(p)) for p in paths)
            return
        request = "".join(f"HEAD:{p}\n" for p in paths).encode()
        out = subprocess.run(["git", "--git-dir", str(self.root), "cat-file", "--batch"],
                             input=request, capture_output=True, check=True).stdout
        at = 0
        for path in paths:
            header_end = out.index(b"\n", at)
            header = out[at:header_end].split()
            if header[-1] == b"missing":
                at = header_end + 1
                yield path, None
                continue
            size = int(header[2])
            yield path, out[header_end + 1:header_end + 1 + size]
            at = header_end + 1 + size + 1


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _article_extraction_dataset(src: _Source) -> list[DevPage]:
    rows = json.loads(src.read("articles.json") or b"{}")
    paths = [f"html/{key}.html" for key in rows]
    pages = []
    for (key, row), (_path, html) in zip(rows.items(), src.read_many(paths)):
        if html is None:
            continue
        gold = {"publisher": _host(row.get("site") or row["url"]), "title": row.get("title") or "",
                "publishing_date": row.get("date") or None, "body": row.get("articleBody") or "",
                "dev": "article-extraction-dataset"}
        pages.append(DevPage(row["url"], html, gold))
    return pages


def _fundus_evaluation(src: _Source) -> list[DevPage]:
    rows = json.loads(src.read("dataset/ground_truth.json") or b"{}")
    paths = [f"dataset/html/{name}" for name in rows]
    pages = []
    for (name, row), (_path, raw) in zip(rows.items(), src.read_many(paths)):
        if raw is None:
            continue
        gold = {"publisher": name.rsplit("_", 1)[0], "title": None, "publishing_date": None,
                "body": "\n".join(row.get("body") or []), "dev": "fundus-evaluation"}
        pages.append(DevPage(row["url"], gzip.decompress(raw), gold))
    return pages


def load_dev(root: Path) -> tuple[str, list[DevPage]]:
    """The corpus's name and its pages; ValueError when ``root`` holds none of the known corpora."""
    src = _Source(root)
    if src.read("articles.json") is not None:
        return "article-extraction-dataset", _article_extraction_dataset(src)
    if src.read("dataset/ground_truth.json") is not None:
        return "fundus-evaluation", _fundus_evaluation(src)
    raise ValueError(f"{root}: neither article-extraction-dataset nor fundus-evaluation")
