"""Stages know the contract, not each other: the crawler never loads the workers' heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys


def test_crawler_never_imports_workers_or_their_engines() -> None:
    code = ("import json, sys; import crawler.run, crawler.pipelines, crawler.spider, crawler.check; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('workers', 'trafilatura', 'ctranslate2', 'sentencepiece'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
