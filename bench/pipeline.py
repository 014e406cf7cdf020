"""The pipeline as users run it, against the raw CTranslate2 loop on the same sentences, in one run.

    python bench/pipeline.py [--device auto|cpu|cuda] [--articles 123] [--beam 2] [--write-docs]

1. A local news site on 127.0.0.1 serves the NTREX-128 Chinese articles (``../shared/data/ntrex``:
   real news, 123 articles, boundaries from ``DOCUMENT_IDS.tsv``): one page per article, the first
   line its headline, each further line a paragraph, with JSON-LD and OpenGraph as publishers do.
2. ``transcrawl worker`` starts as the README starts it (extract/store node with ``-c`` CPU count,
   and its translate node), on real Postgres and Redis, with the shared zh→en model (OPUS-MT by
   Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0) installed by ``transcrawl models install``.
3. ``transcrawl crawl`` (a real Scrapy process) crawls the site; the clock runs from the crawl's start
   to the last article stored in Postgres.
4. Then, on the same machine, raw CTranslate2 over the same NTREX lines, same model, device and
   beam (:func:`run_raw`): the raw loop in each thread layout (the best is the goal's baseline) and
   a single call holding every line (an upper bound), or on a GPU one call per token budget.

Reported: seconds, target tokens/s (both sides counted alike: the English re-encoded with the
model's SentencePiece), articles/min, p50/p95 latency from queued (fetched) to stored, the peak
RSS of the translate node and of the extract/store processes, document BLEU/chrF of the stored
English and of the raw loop against the NTREX English references (sacrebleu, one document per
article), and PASS/FAIL against the issue's goals. Without ``--database-url``/``--redis-url`` (or
``TRANSCRAWL_DATABASE_URL``/``TRANSCRAWL_REDIS_URL``) it starts embedded servers. Politeness
delays are off for the local site (``TRANSCRAWL_DOWNLOAD_DELAY=0``): it is 127.0.0.1, and the
product crawls its 150 sites in parallel, so one site's delay is not what bounds throughput.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ctranslate2  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
import sacrebleu  # noqa: E402
import sentencepiece  # noqa: E402

from crawler import registry as reg  # noqa: E402
from bench.scratch import scratch_servers  # noqa: E402
from foundation.servers import child_env, ensure_servers, stop_process  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from schemas.migrate import migrate  # noqa: E402
from transcrawl.localweb.newsweb import LocalArticle, LocalSite, NewsWeb  # noqa: E402
from workers.translate.loading import (  # noqa: E402
    choose_batch_tokens,
    choose_device,
    choose_round_tokens,
    choose_threads,
    choose_translate_concurrency,
)

SHARED = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
NTREX = SHARED / "data" / "ntrex"
PACKAGE = SHARED / "models" / "translate-zh_en-1_9.argosmodel"
DOCS = REPO / "docs" / "benchmarks.md"
RAW_BATCH = 32  # examples per batch, as bench/translate.py's raw loop


@dataclasses.dataclass
class Doc:
    id: str
    zh: list[str]
    en: list[str]


def load_docs(limit: int, language: str) -> list[Doc]:
    ids = (NTREX / "DOCUMENT_IDS.tsv").read_text().splitlines()
    zh = (NTREX / f"{language}.txt").read_text().splitlines()
    en = (NTREX / "eng.txt").read_text().splitlines()
    docs: OrderedDict[str, Doc] = OrderedDict()
    for doc_id, src, ref in zip(ids, zh, en, strict=True):
        docs.setdefault(doc_id, Doc(doc_id, [], [])).zh.append(src.strip())
        docs[doc_id].en.append(ref.strip())
    out = list(docs.values())
    return out[:limit] if limit else out


def page(doc: Doc, published: datetime) -> bytes:
    title, paragraphs = doc.zh[0], doc.zh[1:]
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
          "datePublished": published.isoformat(), "author": {"@type": "Person", "name": "NTREX"}}
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<meta property='og:title' content='{html.escape(title, quote=True)}'>"
            f"<script type='application/ld+json'>{json.dumps(ld, ensure_ascii=False)}</script></head>"
            f"<body><header><a href='/'>NTREX 新闻</a></header><article><h1>{html.escape(title)}</h1>"
            f"{body}</article><footer>© NTREX</footer></body></html>").encode()


def local_site(docs: list[Doc]) -> LocalSite:
    now = datetime.now(UTC).replace(microsecond=0)
    articles = []
    for i, doc in enumerate(docs):
        published = now - timedelta(minutes=10 + i)
        slug = doc.id.replace(".", "-")
        articles.append(LocalArticle(slug=slug, title=doc.zh[0], html=page(doc, published), published=published))
    return LocalSite(id="ntrex-zh", name="NTREX 中文", country="cn", language="zh", articles=articles)


# -- servers --------------------------------------------------------------------------------------


def servers(args: argparse.Namespace, home: Path) -> tuple[Settings, Any]:
    """Settings on a fresh database and an empty Redis database, and how to clean them up."""
    base = Settings.from_env(home=home, models_dir=home / "models", beam_size=args.beam,
                             translate_device=args.device)
    if args.redis_url and args.database_url:
        db_url, clean = scratch_servers(args.database_url, args.redis_url, "transcrawl_pipeline")
        return base.with_servers(db_url, args.redis_url), clean
    embedded = ensure_servers(base, fresh=True)
    return embedded.settings, embedded.stop


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "transcrawl.cli", *args]


# -- the pipeline ---------------------------------------------------------------------------------


class RssSampler:
    """Peak RSS and CPU seconds of the worker's processes: the translate node and the others."""

    def __init__(self, root: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.translate_peak = 0
        self.stage_peak = 0  # the largest extract/store process (main or pool child)
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (node, CPU seconds so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                root = psutil.Process(self.root.pid)
                for proc in [root, *root.children(recursive=True)]:
                    with proc.oneshot():
                        rss, times = proc.memory_info().rss, proc.cpu_times()
                    translate = "-translate@" in " ".join(proc.cmdline())
                    if translate:
                        self.translate_peak = max(self.translate_peak, rss)
                    else:
                        self.stage_peak = max(self.stage_peak, rss)
                    self.cpu[proc.pid] = ("translate" if translate else "extract/store", times.user + times.system)
            except psutil.Error:
                continue


def rows(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        cur = conn.execute("SELECT url, status, title_en, text_en, extract(epoch FROM fetched_at), "
                           "extract(epoch FROM stored_at) FROM articles")
        return [{"url": r[0], "status": r[1], "title_en": r[2], "text_en": r[3],
                 "fetched": float(r[4]), "stored": float(r[5])} for r in cur.fetchall()]


def failures(database_url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(database_url) as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT url, stage, reason FROM failures WHERE resolved_at IS NULL").fetchall()]


def ready(settings: Settings, nodes: int, timeout: float = 120) -> None:
    from schemas.pipeline import producer

    app = producer(settings.redis_url or "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= nodes:
            return
    raise SystemExit(f"the worker's {nodes} nodes did not answer a ping within {timeout:.0f} s")


def run_pipeline(args: argparse.Namespace, settings: Settings, docs: list[Doc], home: Path) -> dict[str, Any]:
    env = child_env(dataclasses.replace(settings, download_delay=0.0, autothrottle=False,
                                        concurrency_per_domain=8))
    installed = subprocess.run(cli("models", "install", str(PACKAGE)), env=env, capture_output=True, text=True)
    if installed.returncode:
        raise SystemExit(f"model install failed: {installed.stderr[-2000:]}")
    with NewsWeb([local_site(docs)]) as web:
        registry = home / "sites.toml"
        registry.write_text(reg.dumps(web.registry()), encoding="utf-8")
        log = open(home / "worker.log", "wb")  # noqa: SIM115 - closed below
        worker = subprocess.Popen(cli("worker", "--loglevel", "INFO", *args.worker_args.split()),
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            ready(settings, nodes=2)
            with RssSampler(worker) as rss:
                started = time.time()
                children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
                crawl = subprocess.run(cli("crawl", "--registry", str(registry), "--json"), env=env,
                                       capture_output=True, text=True, timeout=args.timeout)
                if crawl.returncode:
                    raise SystemExit(f"crawl failed: {crawl.stderr[-3000:]}")
                crawl_s = time.time() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                crawl_cpu = (after.ru_utime + after.ru_stime) - (children_cpu.ru_utime + children_cpu.ru_stime)
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    done = rows(settings.database_url or "")
                    failed = failures(settings.database_url or "")
                    if len(done) + len(failed) >= len(docs):
                        break
                    time.sleep(0.5)
                else:
                    raise SystemExit(f"only {len(done)} of {len(docs)} articles stored in {args.timeout} s; "
                                     f"see {home / 'worker.log'}")
        finally:
            stop_process(worker, timeout=90)
            log.close()
    by_url = {r["url"]: r for r in done}
    ordered = [by_url.get(url) for url in web.article_urls("ntrex-zh")]
    seconds = max(r["stored"] for r in done) - started
    latencies = sorted(r["stored"] - r["fetched"] for r in done)
    cpu: dict[str, float] = {"crawl": crawl_cpu}
    for node, used in rss.cpu.values():
        cpu[node] = cpu.get(node, 0.0) + used
    return {"seconds": seconds, "crawl_s": crawl_s, "rows": ordered, "failed": failed, "cpu": cpu,
            "latency_p50": statistics.median(latencies), "latency_p95": percentile(latencies, 95),
            "translate_rss_mb": rss.translate_peak / 2**20, "stage_rss_mb": rss.stage_peak / 2**20,
            "log": str(home / "worker.log")}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


# -- the raw loop ---------------------------------------------------------------------------------


def model_folder(home: Path) -> Path:
    from workers.translate import find_model

    found = find_model(home / "models", "zh", "en")
    if found is None:
        raise SystemExit("the zh→en model is not installed")
    return found.path


def run_raw(model: Path, docs: list[Doc], device: str, compute: str, beam: int,
            layouts: list[tuple[int, int]], budgets: list[int], simplify: bool = False) -> dict[str, Any]:
    """Every raw variant, timed on the same lines; the best "loop" is the goal's baseline.

    - loop: what a user of CTranslate2 writes, and what bench/translate.py times: consecutive
      batches of 32 lines, one ``translate_batch`` call each, per thread layout.
    - one call: every line in a single ``translate_batch`` call, which CTranslate2 sorts by length
      and spreads over its replicas itself: an upper bound no stream of articles can hand it. On
      a GPU, once per token budget (``batch_type="tokens"``): the best budget is the baseline.
    - ``simplify`` (Traditional Chinese input): the loop once more on the lines converted to
      Simplified first (OpenCC t2s), the quality the worker's script conversion must reach.
    """
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
    lines = [line for doc in docs for line in doc.zh]
    tokens = [sp.encode(line, out_type=str) for line in lines]
    variants: list[dict[str, Any]] = []

    def timed(name: str, kind: str, call: Any) -> None:
        started = time.perf_counter()
        results = call()
        seconds = time.perf_counter() - started
        hyps = ["".join(r.hypotheses[0]).replace("\u2581", " ").strip() for r in results]
        variants.append({"name": name, "kind": kind, "seconds": seconds, "hyps": hyps})
        print(f"  raw {name}: {seconds:.1f} s", flush=True)

    def engine(inter: int, intra: int) -> Any:
        translator = ctranslate2.Translator(str(model / "model"), device=device, compute_type=compute,
                                            inter_threads=inter, intra_threads=intra)
        translator.translate_batch(tokens[:8], beam_size=beam, max_batch_size=RAW_BATCH)  # warm up
        return translator

    if device == "cuda":
        gpu = engine(*layouts[0])
        for budget in budgets:
            timed(f"one call, {budget}-token batches", "baseline", lambda b=budget: gpu.translate_batch(
                tokens, beam_size=beam, max_batch_size=b, batch_type="tokens"))
    else:
        for inter, intra in layouts:
            cpu = engine(inter, intra)
            timed(f"loop, {RAW_BATCH} lines a call, {inter}×{intra}", "baseline", lambda e=cpu: [
                r for at in range(0, len(tokens), RAW_BATCH)
                for r in e.translate_batch(tokens[at : at + RAW_BATCH], beam_size=beam, max_batch_size=RAW_BATCH)])
            if inter > 1:
                timed(f"one call, {inter}×{intra}", "bound", lambda e=cpu: e.translate_batch(
                    tokens, beam_size=beam, max_batch_size=RAW_BATCH))
            del cpu
        if simplify:
            from workers.translate import scripts

            inter, intra = layouts[0]
            cpu = engine(inter, intra)
            simple = [sp.encode(scripts.convert(line, "zh", "Hant", "Hans"), out_type=str) for line in lines]
            timed(f"loop, converted to Simplified first (OpenCC t2s), {inter}×{intra}", "converted", lambda e=cpu: [
                r for at in range(0, len(simple), RAW_BATCH)
                for r in e.translate_batch(simple[at : at + RAW_BATCH], beam_size=beam, max_batch_size=RAW_BATCH)])
            del cpu
    best = min((v for v in variants if v["kind"] == "baseline"), key=lambda v: v["seconds"])
    bound = min(variants, key=lambda v: v["seconds"])
    for variant in variants:
        out, at = [], 0
        for doc in docs:
            out.append(" ".join(variant["hyps"][at : at + len(doc.zh)]))
            at += len(doc.zh)
        variant["docs"] = out
    return {"best": best, "bound": bound, "variants": variants}


# -- scoring and report ---------------------------------------------------------------------------


def target_tokens(sp: sentencepiece.SentencePieceProcessor, texts: list[str]) -> int:
    return sum(len(sp.encode(t, out_type=str)) for t in texts if t)


def score(hyp_docs: list[str], ref_docs: list[str]) -> tuple[float, float]:
    return sacrebleu.corpus_bleu(hyp_docs, [ref_docs]).score, sacrebleu.corpus_chrf(hyp_docs, [ref_docs]).score


def report(args: argparse.Namespace, docs: list[Doc], pipe: dict[str, Any], raw: dict[str, Any], model: Path,
           settings: Settings) -> dict[str, Any]:
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
    refs = [" ".join(doc.en) for doc in docs]
    stored = [r for r in pipe["rows"] if r is not None]
    pipe_docs = [" ".join(p for p in [r["title_en"] or "", *(r["text_en"] or "").split("\n")] if p) if r else ""
                 for r in pipe["rows"]]
    pipe_bleu, pipe_chrf = score(pipe_docs, refs)
    variants = []
    for v in raw["variants"]:
        bleu, chrf = score(v["docs"], refs)
        variants.append({"name": v["name"], "kind": v["kind"], "seconds": v["seconds"], "bleu": bleu, "chrf": chrf,
                         "tok_s": target_tokens(sp, v["docs"]) / v["seconds"]})
    best = next(v for v in variants if v["name"] == raw["best"]["name"])
    bound = next(v for v in variants if v["name"] == raw["bound"]["name"])
    device, compute = choose_device(settings)
    inter, intra = choose_threads(settings, device)
    result = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "host": platform.node(),
        "cores": len(os.sched_getaffinity(0)), "device": device, "compute": compute, "beam": args.beam,
        "articles": len(docs), "sentences": sum(len(d.zh) for d in docs), "stored": len(stored),
        "translated": sum(r["status"] == "translated" for r in stored), "failed": len(pipe["failed"]),
        "pipeline_s": pipe["seconds"], "crawl_s": pipe["crawl_s"], "cpu_s": pipe["cpu"],
        "baseline": best["name"], "baseline_s": best["seconds"], "ratio": best["seconds"] / pipe["seconds"],
        "bound": bound["name"], "bound_s": bound["seconds"], "bound_ratio": bound["seconds"] / pipe["seconds"],
        "variants": variants,
        "pipeline_tok_s": target_tokens(sp, pipe_docs) / pipe["seconds"],
        "articles_per_min": len(stored) / pipe["seconds"] * 60,
        "latency_p50": pipe["latency_p50"], "latency_p95": pipe["latency_p95"],
        "translate_rss_mb": pipe["translate_rss_mb"], "stage_rss_mb": pipe["stage_rss_mb"],
        "bleu": pipe_bleu, "chrf": pipe_chrf, "raw_bleu": best["bleu"], "raw_chrf": best["chrf"],
        "layout": f"{inter}×{intra}", "round_tokens": choose_round_tokens(settings, device),
        "batch_tokens": choose_batch_tokens(settings, device),
        "concurrency": choose_translate_concurrency(settings, device),
        "wait_ms": settings.translate_batch_wait_ms, "worker_args": args.worker_args,
    }
    goal = 0.8 if device == "cuda" else 1.0
    result["goals"] = {
        f"pipeline ≥ {goal}× the raw loop": result["ratio"] >= goal,
        "BLEU within 0.5 of the raw loop": pipe_bleu >= best["bleu"] - 0.5,
        "chrF within 0.5 of the raw loop": pipe_chrf >= best["chrf"] - 0.5,
        "every article stored, none failed": len(stored) == len(docs) and not pipe["failed"],
    }
    converted = next((v for v in variants if v["kind"] == "converted"), None)
    if converted:  # issue 13: Traditional Chinese through the pipeline, at least the converted loop
        result["goals"]["chrF at least the raw loop on text converted to Simplified"] = pipe_chrf >= converted["chrf"]
    if device == "cpu":
        result["goals"]["translate worker < 600 MB RSS"] = result["translate_rss_mb"] < 600
    return result


def render(r: dict[str, Any], command: str) -> str:
    goals = "\n".join(f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in r["goals"].items())
    raws = "\n".join(
        f"| raw CTranslate2, {v['name']}{' (baseline)' if v['name'] == r['baseline'] else ''} | "
        f"{v['seconds']:.1f} | {v['tok_s']:.0f} | – | – | {v['bleu']:.1f} | {v['chrf']:.1f} | "
        f"{v['seconds'] / r['pipeline_s']:.2f}× |" for v in r["variants"])
    return f"""Command: `{command}` ({r['when']}, {r['cores']} cores, {r['device']}/{r['compute']}, beam {r['beam']}).
NTREX-128 Chinese, {r['articles']} articles ({r['sentences']} lines), crawled from a local site by a real
Scrapy process, extracted, translated and stored by `transcrawl worker {r['worker_args']}` (translate node:
{r['layout']} threads, rounds of up to {r['round_tokens']} source tokens cut into engine batches of
{r['batch_tokens']}, {r['concurrency']} articles in flight, {r['wait_ms']} ms wait) on real Postgres and Redis.
The raw variants translate the same lines with the same model and beam, in the same run, after the
pipeline (a quiet machine: nothing else runs beside them).

| | seconds | target tok/s | articles/min | p50 / p95 queued→stored | BLEU | chrF | pipeline speed |
|---|---|---|---|---|---|---|---|
| pipeline (crawl start → last stored) | {r['pipeline_s']:.1f} | {r['pipeline_tok_s']:.0f} | {r['articles_per_min']:.1f} | {r['latency_p50']:.1f} s / {r['latency_p95']:.1f} s | {r['bleu']:.1f} | {r['chrf']:.1f} | – |
{raws}

Pipeline at **{r['ratio']:.2f}×** the raw loop ({r['baseline']}) and {r['bound_ratio']:.2f}× the fastest raw
variant ({r['bound']}); {r['stored']} stored ({r['translated']} translated), {r['failed']} failed; the crawl itself
took {r['crawl_s']:.1f} s. CPU seconds: {', '.join(f'{k} {v:.1f}' for k, v in r['cpu_s'].items())}. Peak RSS: translate node {r['translate_rss_mb']:.0f} MB, largest extract/store process
{r['stage_rss_mb']:.0f} MB.

{goals}
"""


NOTES = "<!-- notes: kept when the bench rewrites this section -->"


def write_docs(section: str, body: str) -> None:
    """Replace ``## section`` in docs/benchmarks.md with ``body``, keeping its notes block."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    header = f"## {section}\n"
    start = text.find(header)
    end = text.find("\n## ", start + len(header)) if start >= 0 else -1
    old = text[start:end if end >= 0 else len(text)] if start >= 0 else ""
    notes = old[old.find(NOTES):].rstrip("\n") + "\n" if NOTES in old else ""
    block = f"{header}\n{body}\n{notes}"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        text = text[:start] + block + (text[end + 1 :] if end >= 0 else "")
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--articles", type=int, default=0, help="first N NTREX articles (0 = all 123)")
    parser.add_argument("--language", default="zho_Hans", help="NTREX file (zho_Hans, zho_Hant)")
    parser.add_argument("--beam", type=int, default=2)
    parser.add_argument("--worker-args", default="", help="extra `transcrawl worker` options")
    parser.add_argument("--layouts", default="", help="raw loop thread layouts, e.g. 1x2,2x1 (default: "
                                                     "1×cores and cores×1 on CPU, 1×1 on GPU)")
    parser.add_argument("--budgets", default="2048,8192,32768",
                        help="GPU: token budgets of the raw one-call variant")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--database-url", default=os.environ.get("TRANSCRAWL_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("TRANSCRAWL_REDIS_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument("--pipeline-only", action="store_true", help="skip the raw variants (exploring)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if not PACKAGE.is_file() or not NTREX.is_dir():
        raise SystemExit(f"needs ../shared: {PACKAGE} and {NTREX}")
    docs = load_docs(args.articles, args.language)
    home = Path(tempfile.mkdtemp(prefix="transcrawl-pipeline-"))
    settings, clean = servers(args, home)
    try:
        assert settings.database_url
        migrate(settings.database_url)
        print(f"pipeline: {len(docs)} articles, {sum(len(d.zh) for d in docs)} lines", flush=True)
        pipe = run_pipeline(args, settings, docs, home)
        print(f"  pipeline: {pipe['seconds']:.1f} s (crawl {pipe['crawl_s']:.1f} s), translate node "
              f"{pipe['translate_rss_mb']:.0f} MB, CPU s {pipe['cpu']}", flush=True)
        if args.pipeline_only:
            return
        model = model_folder(home)
        device, compute = choose_device(settings)
        cores = len(os.sched_getaffinity(0))
        if args.layouts:
            layouts = [(int(a), int(b)) for a, b in (layout.split("x") for layout in args.layouts.split(","))]
        else:
            layouts = [(1, 1)] if device == "cuda" else [(1, cores), (cores, 1)]
        budgets = [int(b) for b in args.budgets.split(",")]
        raw = run_raw(model, docs, device, compute, args.beam, layouts, budgets,
                      simplify=args.language == "zho_Hant" and device != "cuda")
        result = report(args, docs, pipe, raw, model, settings)
    finally:
        clean()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    command = "python bench/pipeline.py" + "".join(f" {a}" for a in sys.argv[1:] if a != "--write-docs")
    body = render(result, command)
    print(body)
    print(json.dumps(result, ensure_ascii=False))
    if args.write_docs:
        section = "Pipeline on GPU" if result["device"] == "cuda" else "Pipeline"
        write_docs(section if args.language == "zho_Hans" else f"{section}, {args.language}", body)


if __name__ == "__main__":
    main()
