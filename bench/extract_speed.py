"""Benchmark: whole ``transcrawl extract`` runs against whole raw-trafilatura runs, same files, same run.

What a user runs is a process over many files: start-up, imports and model loads count. Both sides
get the same saved pages (the shared corpus, plus any ``--dev`` corpora of bench/extract_dev.py)
written to one temporary folder, and run as fresh processes, interleaved round by round so that a
busy machine slows both alike:

- ours: ``python -m transcrawl.cli extract FILE...`` (one JSON line a page);
- raw: one Python process calling ``trafilatura.bare_extraction(html, url=..., with_metadata=True)``
  on each file and printing the same kind of JSON line.

Usage: ``python bench/extract_speed.py [--dev PATH ...] [--rounds 3]``; prints wall and CPU seconds of
each round and the ratio raw/ours (1.0 = as fast as raw trafilatura; the issue's goal is >= 0.8).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.extract import default_corpus, load_pages  # noqa: E402
from bench.extract_dev import load_dev  # noqa: E402

RAW = """
import json, sys
import trafilatura
from workers.extraction.files import _page_url, _read
for path in sys.argv[1:]:
    data = _read(__import__("pathlib").Path(path))
    doc = trafilatura.bare_extraction(data, url=_page_url(data, path), with_metadata=True)
    out = {} if doc is None else {"title": doc.title, "date": doc.date, "text": doc.text, "image": doc.image}
    print(json.dumps({"path": path, **out}, ensure_ascii=False))
"""


def write_pages(folder: Path, dev: list[Path]) -> list[str]:
    """Every page as ``NNNN.html`` with its URL as a canonical link (both sides read it the same way)."""
    pages = [(p.url, p.html) for p in load_pages(default_corpus())]
    for root in dev:
        pages += [(p.url, p.html) for p in load_dev(root)[1]]
    paths = []
    for i, (url, html) in enumerate(pages):
        path = folder / f"{i:04d}.html.gz"
        head = f'<link rel="canonical" href="{url}">\n'.encode()
        path.write_bytes(gzip.compress(head + html, compresslevel=1))
        paths.append(str(path))
    return paths


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)  # noqa: S603
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, action="append", default=[], help="a dev corpus (bench/extract_dev.py)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="extract-speed-") as tmp:
        paths = write_pages(Path(tmp), args.dev)
        ours_cmd = [sys.executable, "-m", "transcrawl.cli", "extract", *paths]
        raw_cmd = [sys.executable, "-c", RAW, *paths]
        print(f"{len(paths)} pages, {args.rounds} interleaved rounds")
        print("| round | ours wall | ours CPU | raw wall | raw CPU | raw/ours (CPU) |")
        print("|---|---|---|---|---|---|")
        ratios = []
        for n in range(1, args.rounds + 1):
            ours_wall, ours_cpu = timed(ours_cmd)
            raw_wall, raw_cpu = timed(raw_cmd)
            ratios.append(raw_cpu / ours_cpu)
            print(f"| {n} | {ours_wall:.1f} s | {ours_cpu:.1f} s | {raw_wall:.1f} s | {raw_cpu:.1f} s "
                  f"| {ratios[-1]:.2f}× |", flush=True)
        print(f"\nours at {statistics.median(ratios):.2f}× raw trafilatura's speed (median of CPU-time ratios; "
              f"goal ≥ 0.80×)")


if __name__ == "__main__":
    main()
