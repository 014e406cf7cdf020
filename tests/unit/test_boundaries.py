"""The layers point one way: schemas ← foundation ← stages (crawler, workers, readers) ← shell (transcrawl).

Every import in every module counts, at module level or inside a function: a lazy import that
crosses a boundary is still a dependency. Each rule is checked by reading the source, and the
checker itself is tested on a small tree that breaks each rule once.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each of our packages may import of our own packages (besides itself).
ALLOWED: dict[str, set[str]] = {
    "schemas": set(),
    "foundation": {"schemas"},
    "crawler": {"schemas", "foundation"},
    "workers": {"schemas", "foundation"},
    "readers": {"schemas", "foundation"},  # reads Postgres by the contract, never the stages' code
    "transcrawl": {"schemas", "foundation", "crawler", "workers", "readers"},
}


def imported_packages(source: str, own: set[str]) -> set[str]:
    """Top-level names of our packages that ``source`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & own


def violations(root: Path) -> list[str]:
    """``file imports package`` for every import that breaks :data:`ALLOWED` under ``root``."""
    own = set(ALLOWED)
    broken = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            for target in sorted(imported_packages(path.read_text(), own) - allowed - {package}):
                broken.append(f"{path.relative_to(root)} imports {target}")
    return broken


def test_every_import_points_down_the_layers() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(("package", "line"), [
    ("schemas", "from workers.store import upsert_article"),
    ("schemas", "import foundation.settings"),
    ("foundation", "from crawler.registry import Site"),
    ("crawler", "from workers import tasks"),
    ("crawler", "    from transcrawl.cli import main  # a lazy import counts too"),
    ("workers", "from crawler.urls import canonical_url"),
    ("workers", "from transcrawl import status"),
    ("readers", "from workers.store import load_article"),
])
def test_the_checker_catches_each_broken_rule(tmp_path: Path, package: str, line: str) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("import json\nfrom schemas import keys\n"
                                                     if name != "schemas" else "import json\n")
    (tmp_path / package / "bad.py").write_text(f"def f() -> None:\n    pass\n{line.strip()}\n")
    target = line.split()[1].split(".")[0]
    assert violations(tmp_path) == [f"{package}/bad.py imports {target}"]


def test_crawler_never_loads_the_workers_heavy_libraries() -> None:
    # Beyond our own packages: a crawler process must not pay for trafilatura or CTranslate2.
    assert loaded("crawler.run, crawler.pipelines, crawler.spider, crawler.check",
                  {"workers", "transcrawl", "trafilatura", "ctranslate2", "sentencepiece"}) == []


def test_extracting_files_loads_no_broker_or_database_client() -> None:
    # `transcrawl extract` on files is a batch tool: celery, kombu, redis and psycopg cost it
    # about 0.17 s a start for nothing (they load when a worker or the crawler uses them).
    assert loaded("transcrawl.cli, workers.extraction", {"celery", "kombu", "redis", "psycopg"}) == []


def loaded(modules: str, packages: set[str]) -> list[str]:
    """The top-level ``packages`` a fresh interpreter has loaded after importing ``modules``."""
    code = (f"import json, sys; import {modules}; "
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(packages)!r}))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return list(json.loads(done.stdout))
