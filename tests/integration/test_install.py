"""The wheel, installed the way Debian and Ubuntu users install it: a venv with its stock pip.

``python3 -m venv`` without upgrading pip gives the pip that the interpreter bundles (23.x on
Debian 12 and Python 3.11). Before 23.3 that pip does not normalise extra names (PEP 685), so a
dependency reached only through an extra such as justext's ``lxml[html_clean]`` (lxml declares it as
``html-clean``) is silently skipped, and ``transcrawl extract`` died at import
(``lxml.html.clean module is now a separate project lxml_html_clean``). Everything the code needs
must be a direct dependency; this test installs the built wheel with that pip and runs the command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# pip normalises extra names from 23.3 on; with it the missing dependency would come in anyway.
NORMALISING_PIP = (23, 3)

# Generous: a cold pip cache means downloading and unpacking Scrapy, CTranslate2, numpy and the rest.
INSTALL_TIMEOUT = 1200
BUILD_TIMEOUT = 600

TITLE = "Harbour Bridge Reopens After Eight Months of Repairs"
PARAGRAPHS = [
    ("The city's harbour bridge reopened to traffic on Tuesday morning after eight months of "
     "structural repairs that cost the regional government more than forty million euros."),
    ("Engineers replaced the corroded steel cables, resurfaced the deck and installed new sensors "
     "that will monitor the structure around the clock, the transport authority said in a statement."),
    ("Commuters who had faced detours of up to an hour welcomed the reopening, and local shop owners "
     "said they expected business to recover quickly now that the crossing is open again."),
]
PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{TITLE}</title>
<link rel="canonical" href="https://news.example.com/2024/05/14/harbour-bridge-reopens">
<meta property="og:title" content="{TITLE}">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article>
<h1>{TITLE}</h1>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}
</article>
<footer>Copyright 2024 Example News. All rights reserved.</footer>
</body></html>
"""

# The checkout's build outputs and environments stay behind: a stale build/lib would leak deleted
# modules into the wheel, and building a copy leaves nothing in a tree others are working in.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", ".mypy_cache", ".hypothesis", ".transcrawl", "node_modules",
)


def _clean_env() -> dict[str, str]:
    """The caller's environment (pip's index settings included) without this venv or checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"  # never upgrade or nag: the stock pip is the point
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(args: list[str], *, timeout: int, cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(args, cwd=cwd, env=_clean_env(), text=True, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{what} took over {timeout}s: {args}\n{_text(err.stdout)}\n{_text(err.stderr)}")
    assert done.returncode == 0, (
        f"{what} failed (exit {done.returncode}): {args}\n--- stdout\n{done.stdout[-4000:]}"
        f"\n--- stderr\n{_without_noise(done.stderr)[-6000:]}")
    return done


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _without_noise(text: str) -> str:
    """pip 23 warns once per package about each unusable extra index location; drop those lines."""
    return "\n".join(line for line in text.splitlines() if "is ignored: it is neither" not in line)


def _base_python() -> str:
    """The interpreter this venv (if any) was made from: a venv of it gets the bundled pip."""
    return getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def stock_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv made with ``python -m venv`` and nothing upgraded."""
    venv = tmp_path_factory.mktemp("stock") / "venv"
    made = subprocess.run([_base_python(), "-m", "venv", str(venv)], env=_clean_env(), text=True,
                          capture_output=True, timeout=300, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a venv with pip here (ensurepip missing?): {made.stderr[-500:]}")
    python = venv / "bin" / "python"
    version = subprocess.run([str(python), "-m", "pip", "--version"], env=_clean_env(), text=True,
                             capture_output=True, timeout=120, check=False)
    match = re.match(r"pip (\d+)\.(\d+)", version.stdout)
    assert match, f"no pip in the new venv: {version.stdout} {version.stderr}"
    pip = (int(match.group(1)), int(match.group(2)))
    if pip >= NORMALISING_PIP:
        pytest.skip(f"this interpreter bundles pip {match.group(1)}.{match.group(2)}, which normalises "
                    "extra names; the old-pip install cannot be reproduced with it")
    return venv


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT + BUILD_TIMEOUT + 300)
def test_wheel_installed_with_stock_old_pip_extracts(stock_venv: Path, tmp_path: Path) -> None:
    python = stock_venv / "bin" / "python"
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    wheels = tmp_path / "wheels"
    _run([str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
          str(source)], timeout=BUILD_TIMEOUT, cwd=tmp_path, what="building the wheel")
    (wheel,) = wheels.glob("transcrawl-*.whl")

    _run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
         timeout=INSTALL_TIMEOUT, cwd=tmp_path, what="installing the wheel with the stock pip")

    # The command under test is the venv's, importing the installed packages, not the checkout's.
    where = _run([str(python), "-c", "import transcrawl, workers; print(workers.__file__)"],
                 timeout=120, cwd=tmp_path, what="importing the installed package")
    assert Path(where.stdout.strip()).resolve().is_relative_to(stock_venv.resolve()), where.stdout

    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    done = _run([str(stock_venv / "bin" / "transcrawl"), "extract", page.name], timeout=300,
                cwd=tmp_path, what="transcrawl extract")
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    article = json.loads(lines[0])
    assert "error" not in article, article
    assert article["path"] == page.name
    assert article["title"] == TITLE
    assert article["text"].split("\n") == PARAGRAPHS
    assert article["language"] == "en"
