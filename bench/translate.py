"""Translation speed and quality: raw CTranslate2 against Transcrawl's Translator, same input.

    python bench/translate.py [--sentences 400] [--beams 1,4] [--block 80] [--device auto] [--write-docs]

Input: the first N lines of WMT19 newstest zh→en from ../shared/data/translation; model: the
OPUS-MT zh→en package (OPUS-MT by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0) from
../shared/models, installed into a temporary folder. Reports target tokens/s, sentences/s,
BLEU/chrF (sentence mode against the raw loop; document mode against the raw loop's sentence
translations joined into the same paragraphs, both scored on joined references), the
translation-memory second pass and the RSS of a fresh worker process with the zh→en model, with a
PASS/FAIL per goal of the issue. Runs are interleaved block by block (the machine is shared).

The raw loop uses the same device, compute type and threads as the Translator (inter_threads
replicas × intra_threads each, as Settings choose them), so the ratio measures batching and
nothing else; on CPU a second raw loop with one replica using every core (CTranslate2's usual
single-translator set-up) shows what the thread layout adds. ``--write-docs`` rewrites the
``## Translation`` section of docs/benchmarks.md (``## Translation on GPU`` for ``--device cuda``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ctranslate2
import sacrebleu
import sentencepiece

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from foundation.settings import Settings  # noqa: E402
from workers.translate import Translator, install_model  # noqa: E402
from workers.translate.loading import choose_batch_tokens  # noqa: E402

SHARED = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
PACKAGE = SHARED / "models" / "translate-zh_en-1_9.argosmodel"
DATA = SHARED / "data" / "translation" / "newstest2019.zh-en"
DOC_SENTENCES = 8


WORKER_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
import psutil
extra = []
try:  # the worker's own imports (Celery, tasks), if that module imports cleanly here
    import workers.tasks  # noqa: F401
    extra.append("workers.tasks")
except Exception as exc:  # noqa: BLE001
    extra.append(f"workers.tasks not imported: {type(exc).__name__}")
from foundation.settings import Settings
from workers.translate import get_translator
models, beam, lines = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]).read_text().splitlines()
translator = get_translator(Settings(models_dir=models, translate_device=sys.argv[4]))
before = psutil.Process().memory_info().rss
docs = [lines[i : i + 8] for i in range(0, len(lines), 8)]
translator.translate_documents("zh", docs, beam_size=beam)
print(json.dumps({"rss_mb": psutil.Process().memory_info().rss / 2**20,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before_mb": before / 2**20, "sentences": translator.stats.sentences, "imports": extra}))
"""


@dataclasses.dataclass
class Run:
    """One way of translating, timed block by block."""

    name: str
    beam: int
    seconds: float = 0.0
    sentences: int = 0
    target_tokens: int = 0
    blocks: list[float] = dataclasses.field(default_factory=list)
    hyps: list[str] = dataclasses.field(default_factory=list)
    bleu: float = 0.0
    chrf: float = 0.0

    def cells(self) -> str:
        return (f"| {self.name} | {self.beam} | {self.seconds:.1f} | {self.target_tokens / self.seconds:.0f} | "
                f"{self.sentences / self.seconds:.2f} | {self.bleu:.1f} | {self.chrf:.1f} |")


def scores(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    return sacrebleu.corpus_bleu(hyps, [refs]).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def as_paragraphs(lines: list[str]) -> list[str]:
    """Lines as an article would hold them: sentences run together ("" between them in Chinese)
    until a line without final punctuation (a headline, a list item) ends the paragraph."""
    paragraphs, current = [], ""
    for line in lines:
        current += line.strip()
        if not line.rstrip().endswith(("。", "！", "？", "”", "」", "…")):
            paragraphs.append(current)
            current = ""
    return paragraphs + ([current] if current else [])


def layout(inter: int, intra: int) -> str:
    return f"{inter}×{intra}"


def bench_beam(model: Path, settings: Settings, src: list[str], beam: int, cores: int,
               block: int) -> dict[str, object]:
    """Raw loop(s), Translator on sentences and Translator on documents, interleaved per block.

    The machine is shared, so each block of ``block`` sentences is run by all of them in turn (the
    order alternating between blocks) and a burst of load hits all of them alike.
    """
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
    translator = Translator(settings)
    device, compute = translator.device()
    inter, intra = translator.threads()
    raws = {"raw": ctranslate2.Translator(str(model / "model"), device=device, compute_type=compute,
                                          inter_threads=inter, intra_threads=intra)}
    names = {"raw": f"raw CTranslate2, {layout(inter, intra)}"}
    if device == "cpu" and (inter, intra) != (1, cores):
        raws["raw1"] = ctranslate2.Translator(str(model / "model"), device=device, compute_type=compute,
                                              inter_threads=1, intra_threads=cores)
        names["raw1"] = f"raw CTranslate2, {layout(1, cores)}"
    for raw in raws.values():
        raw.translate_batch([sp.encode(s, out_type=str) for s in src[-4:]], beam_size=beam, max_batch_size=32)
    translator.translate_documents("zh", [src[-4:]], beam_size=beam)  # load and warm up
    names |= {"sent": f"Translator, sentences, {layout(inter, intra)}",
              "doc": f"Translator, documents, {layout(inter, intra)}"}
    runs = {k: Run(name, beam) for k, name in names.items()}
    second = 0.0

    def run_raw(raw: ctranslate2.Translator, lines: list[str]) -> tuple[list[str], int]:
        # the raw loop: tokenize, translate_batch(max_batch_size=32), join pieces
        results = raw.translate_batch([sp.encode(s, out_type=str) for s in lines], beam_size=beam,
                                      max_batch_size=32)
        hyps = ["".join(r.hypotheses[0]).replace("\u2581", " ").strip() for r in results]
        return hyps, sum(len(r.hypotheses[0]) for r in results)

    def run_translator(docs: list[list[str]]) -> tuple[list[str], int]:
        translator.memory.clear()
        before = translator.stats.target_tokens
        out = translator.translate_documents("zh", docs, beam_size=beam)
        return [" ".join(p for p in doc if p) for doc in out], translator.stats.target_tokens - before

    for b, start in enumerate(range(0, len(src), block)):
        lines = src[start : start + block]
        docs = [as_paragraphs(lines[i : i + DOC_SENTENCES]) for i in range(0, len(lines), DOC_SENTENCES)]
        jobs = {key: (lambda raw=raw: run_raw(raw, lines)) for key, raw in raws.items()}
        jobs |= {"sent": lambda: run_translator([[s] for s in lines]), "doc": lambda: run_translator(docs)}
        for key in (list(jobs) if b % 2 == 0 else list(jobs)[::-1]):
            started = time.perf_counter()
            hyps, tokens = jobs[key]()
            seconds = time.perf_counter() - started
            run = runs[key]
            run.seconds += seconds
            run.blocks.append(seconds)
            run.sentences += len(lines)
            run.target_tokens += tokens
            run.hyps += hyps
            if key == "doc":  # the same documents again: every sentence should be a memory hit
                started = time.perf_counter()
                translator.translate_documents("zh", docs, beam_size=beam)
                second += time.perf_counter() - started
        print(f"  beam {beam} block {b}: " + ", ".join(f"{k} {runs[k].blocks[-1]:.1f}s" for k in runs)
              + f" ({load()})", flush=True)
    budget = choose_batch_tokens(settings, device)
    return {"runs": runs, "second": second, "device": device, "compute": compute, "threads": (inter, intra),
            "budget": budget}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--beams", default="1,4")
    parser.add_argument("--block", type=int, default=80, help="sentences per interleaved block")
    parser.add_argument("--probe-beam", type=int, default=4, help="beam for the worker RSS probe")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    beams = [int(b) for b in args.beams.split(",")]
    block = max(DOC_SENTENCES, args.block - args.block % DOC_SENTENCES)
    n = args.sentences - args.sentences % DOC_SENTENCES
    src = Path(f"{DATA}.zho").read_text().splitlines()[:n]
    ref = Path(f"{DATA}.eng").read_text().splitlines()[:n]
    cores = len(os.sched_getaffinity(0))
    doc_refs = [" ".join(ref[i : i + DOC_SENTENCES]) for i in range(0, n, DOC_SENTENCES)]
    load_start = load()
    print(f"{load_start} at start (uptime)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        package = Path(shutil.copy(PACKAGE, Path(tmp) / PACKAGE.name))
        models = Path(tmp) / "models"
        model = install_model(str(package), models).path
        probe_lines = Path(tmp) / "probe.zho"
        probe_lines.write_text("\n".join(src[:200]) + "\n")
        command = [sys.executable, "-c", WORKER_PROBE, str(models), str(args.probe_beam), str(probe_lines),
                   args.device]
        probe = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        worker = json.loads(probe.stdout.strip().splitlines()[-1])
        print(f"worker RSS with zh→en loaded: {worker}", flush=True)
        settings = Settings(models_dir=models, translate_device=args.device)
        results = {beam: bench_beam(model, settings, src, beam, cores, block) for beam in beams}
    for beam, result in results.items():
        runs = result["runs"]
        for key in ("raw", "raw1"):
            if key in runs:
                runs[key].bleu, runs[key].chrf = scores(runs[key].hyps, ref)
        runs["sent"].bleu, runs["sent"].chrf = scores(runs["sent"].hyps, ref)
        runs["doc"].bleu, runs["doc"].chrf = scores(runs["doc"].hyps, doc_refs)
        joined = [" ".join(runs["raw"].hyps[i : i + DOC_SENTENCES]) for i in range(0, n, DOC_SENTENCES)]
        result["raw_joined"] = scores(joined, doc_refs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = render(results, n, block, cores, peak_mb, worker, load_start, load(), args)
    print(report)
    if args.write_docs:
        write_section(REPO / "docs" / "benchmarks.md", report, heading=report.splitlines()[0])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(results: dict[int, dict], n: int, block: int, cores: int, peak_mb: float, worker: dict,
           load_start: str, load_end: str, args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    rows, goals = [], []
    first = next(iter(results.values()))
    device, compute, (inter, intra) = first["device"], first["compute"], first["threads"]
    for beam, result in results.items():
        runs = result["runs"]
        raw, sent, doc = runs["raw"], runs["sent"], runs["doc"]
        rows += [run.cells() for run in runs.values()]
        for run in (sent, doc):
            ratio = raw.seconds / run.seconds
            per_block = statistics.median(r / t for r, t in zip(raw.blocks, run.blocks, strict=True))
            mode = run.name.split(", ")[1]
            extra = ""
            if "raw1" in runs:
                extra = f"; {runs['raw1'].seconds / run.seconds:.2f}× the {runs['raw1'].name.split(', ')[1]} raw loop"
            goals.append(f"- beam {beam}, {mode}: {ratio:.2f}× the raw loop's throughput on the same threads "
                         f"(median of per-block ratios {per_block:.2f}×){extra} — {verdict(ratio >= 1.0)} (≥ 1.0×)")
        d_bleu, d_chrf = sent.bleu - raw.bleu, sent.chrf - raw.chrf
        goals.append(f"- beam {beam}, sentence mode vs raw (per-sentence references): BLEU {d_bleu:+.1f}, "
                     f"chrF {d_chrf:+.1f} — {verdict(d_bleu >= -0.5 and d_chrf >= -0.5)} (≥ −0.5 each)")
        jb, jc = result["raw_joined"]
        d_bleu, d_chrf = doc.bleu - jb, doc.chrf - jc
        goals.append(f"- beam {beam}, document mode vs the raw loop's sentences joined into the same "
                     f"{DOC_SENTENCES}-line groups (both against joined references: raw BLEU {jb:.1f} / chrF "
                     f"{jc:.1f}, Translator {doc.bleu:.1f} / {doc.chrf:.1f}): BLEU {d_bleu:+.1f}, chrF {d_chrf:+.1f} — "
                     f"{verdict(d_bleu >= -0.5 and d_chrf >= -0.5)} (≥ −0.5 each)")
        pct = 100 * result["second"] / doc.seconds
        goals.append(f"- beam {beam}, second pass over the same documents (translation memory): "
                     f"{result['second']:.2f} s = {pct:.2f}% of the first — {verdict(pct < 5)} (< 5%)")
    goals.append(f"- worker RSS with zh→en loaded (a fresh process: imports, default Settings, "
                 f"200 sentences as 8-paragraph documents at beam {args.probe_beam}): "
                 f"{worker['rss_mb']:.0f} MB resident, peak {worker['peak_mb']:.0f} MB — "
                 f"{verdict(worker['peak_mb'] < 600)} (< 600 MB)")
    where = (f"CPU only, {cores} cores ({cpu})" if device == "cpu"
             else f"GPU ({gpu_name()}), {cores} CPU cores beside it")
    command = f"python bench/translate.py --sentences {args.sentences} --beams {args.beams} --block {args.block}"
    if args.device != "auto":
        command += f" --device {args.device}"
    lines = [
        "## Translation" + (" on GPU" if device == "cuda" else ""),
        "",
        f"`{command}` — first {n} sentences of WMT19 newstest zh→en, OPUS-MT zh→en (Argos 1.9, int8 weights), "
        f"{where}, CTranslate2 {ctranslate2.__version__}, compute type {compute}, threads "
        f"{layout(inter, intra)} (inter_threads × intra_threads, as Settings choose them) for the Translator and "
        f"the first raw loop; Translator token budget {first['budget']} at beam 2 (scaled by 2 / beam), shared by "
        f"its {inter} replica(s). "
        "The raw loop is `translate_batch(max_batch_size=32)` on pre-split sentences. The machine may be shared, "
        f"so the runs are interleaved in blocks of {block} sentences (order alternating), and seconds are sums "
        f"over blocks. Documents hold {DOC_SENTENCES} lines each, run together into paragraphs as an article "
        "would hold them (a line without final punctuation ends a paragraph). Model loading and warm-up are "
        f"not timed. Load average (1/5/15 min) at start: {load_start.split(' ', 1)[1]}, at end: "
        f"{load_end.split(' ', 1)[1]}.",
        "",
        "| run | beam | seconds | target tok/s | sentences/s | BLEU | chrF |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Document-mode BLEU/chrF in the table are against the joined references. Goals:",
        "",
        *goals,
        f"- peak RSS of the bench process itself (all models loaded, all outputs kept): {peak_mb:.0f} MB",
        "",
    ]
    return "\n".join(lines)


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


NOTES = "<!-- notes: kept when the bench rewrites this section -->"


def write_section(path: Path, section: str, heading: str = "## Translation") -> None:
    """Replace (or append) the ``heading`` section, leaving the others and its notes alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    old = "".join(lines[start:end])
    notes = old[old.index(NOTES):].rstrip("\n") + "\n" if NOTES in old else ""
    body = section.rstrip("\n") + "\n\n" + notes if notes else section
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + body + ("\n" + tail if tail else ""))


if __name__ == "__main__":
    main()
