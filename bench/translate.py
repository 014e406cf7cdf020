"""Translation speed and quality: raw CTranslate2 against Transcrawl's Translator, same input.

    python bench/translate.py [--sentences 500] [--beams 1,2,4] [--write-docs]

Input: the first N lines of WMT19 newstest zh→en from ../shared/data/translation; model: the
OPUS-MT zh→en package (OPUS-MT by Jörg Tiedemann and Santhosh Thottingal, CC-BY 4.0) from
../shared/models, installed into a temporary folder. Reports target tokens/s, sentences/s,
BLEU/chrF (sentence mode, and document mode against joined references), the translation-memory
second pass and peak RSS. ``--write-docs`` rewrites the ``## Translation`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import ctranslate2
import psutil
import sacrebleu
import sentencepiece

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import workers.translate.engine as engine  # noqa: E402
from transcrawl.settings import Settings  # noqa: E402
from workers.translate import Translator, install_model  # noqa: E402

SHARED = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
PACKAGE = SHARED / "models" / "translate-zh_en-1_9.argosmodel"
DATA = SHARED / "data" / "translation" / "newstest2019.zh-en"
DOC_SENTENCES = 8


@dataclasses.dataclass
class Row:
    name: str
    beam: int
    seconds: float
    sentences: int
    target_tokens: int
    bleu: float
    chrf: float

    def cells(self) -> str:
        return (f"| {self.name} | {self.beam} | {self.seconds:.1f} | {self.target_tokens / self.seconds:.0f} | "
                f"{self.sentences / self.seconds:.2f} | {self.bleu:.1f} | {self.chrf:.1f} |")


def scores(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    return sacrebleu.corpus_bleu(hyps, [refs]).score, sacrebleu.corpus_chrf(hyps, [refs]).score


def raw_baseline(model: Path, src: list[str], refs: list[str], beam: int, threads: int) -> Row:
    """Plain CTranslate2: pre-split sentences, translate_batch(max_batch_size=32)."""
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
    translator = ctranslate2.Translator(str(model / "model"), device="cpu", compute_type="int8",
                                        intra_threads=threads)
    tokens = [sp.encode(s, out_type=str) for s in src]
    translator.translate_batch(tokens[:4], beam_size=beam, max_batch_size=32)  # warm-up
    started = time.perf_counter()
    results = translator.translate_batch(tokens, beam_size=beam, max_batch_size=32)
    seconds = time.perf_counter() - started
    hyps = ["".join(r.hypotheses[0]).replace("\u2581", " ").strip() for r in results]
    n_tokens = sum(len(r.hypotheses[0]) for r in results)
    return Row("raw CTranslate2", beam, seconds, len(src), n_tokens, *scores(hyps, refs))


def transcrawl(
    translator: Translator, docs: list[list[str]], refs: list[str], beam: int, name: str, n_sent: int
) -> tuple[Row, list[list[str]]]:
    before = translator.stats.target_tokens
    started = time.perf_counter()
    out = translator.translate_documents("zh", docs, beam_size=beam)
    seconds = time.perf_counter() - started
    hyps = [" ".join(p for p in doc if p) for doc in out]
    row = Row(name, beam, seconds, n_sent, translator.stats.target_tokens - before, *scores(hyps, refs))
    return row, out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--beams", default="1,2,4")
    parser.add_argument("--ngram-check", type=int, default=4, help="beam for a no_repeat_ngram_size=3 run (0: skip)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    beams = [int(b) for b in args.beams.split(",")]
    n = args.sentences - args.sentences % DOC_SENTENCES
    src = Path(f"{DATA}.zho").read_text().splitlines()[:n]
    ref = Path(f"{DATA}.eng").read_text().splitlines()[:n]
    cores = len(os.sched_getaffinity(0))
    docs = [as_paragraphs(src[i : i + DOC_SENTENCES]) for i in range(0, n, DOC_SENTENCES)]
    doc_refs = [" ".join(ref[i : i + DOC_SENTENCES]) for i in range(0, n, DOC_SENTENCES)]

    with tempfile.TemporaryDirectory() as tmp:
        package = Path(shutil.copy(PACKAGE, Path(tmp) / PACKAGE.name))
        model = install_model(str(package), Path(tmp) / "models").path
        rows: list[Row] = []
        memory_note = ""
        for beam in beams:
            rows.append(raw_baseline(model, src, ref, beam, cores))
            print(rows[-1].cells(), flush=True)
            translator = Translator(Settings(models_dir=Path(tmp) / "models", intra_threads=cores))
            translator.translate_documents("zh", [src[-4:]], beam_size=beam)  # load and warm up
            translator.memory.clear()
            row, _ = transcrawl(translator, [[s] for s in src], ref, beam, "Translator, sentences", n)
            rows.append(row)
            print(rows[-1].cells(), flush=True)
            translator.memory.clear()
            row, _ = transcrawl(translator, docs, doc_refs, beam, "Translator, documents", n)
            rows.append(row)
            print(rows[-1].cells(), flush=True)
            started = time.perf_counter()
            translator.translate_documents("zh", docs, beam_size=beam)
            second = time.perf_counter() - started
            memory_note += f"beam {beam}: {second:.2f} s = {100 * second / row.seconds:.1f}% of the first. "
            print(memory_note, flush=True)
        if args.ngram_check:
            engine.NO_REPEAT_NGRAM_SIZE = 3
            translator = Translator(Settings(models_dir=Path(tmp) / "models", intra_threads=cores))
            translator.translate_documents("zh", [src[-4:]], beam_size=args.ngram_check)
            translator.memory.clear()
            row, _ = transcrawl(translator, [[s] for s in src], ref, args.ngram_check,
                                "Translator, sentences, no_repeat_ngram_size=3", n)
            rows.append(row)
            print(rows[-1].cells(), flush=True)
            engine.NO_REPEAT_NGRAM_SIZE = 0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = render(rows, n, cores, peak_mb, memory_note, args)
    print(report)
    if args.write_docs:
        write_section(REPO / "docs" / "benchmarks.md", report)


def render(rows: list[Row], n: int, cores: int, peak_mb: float, memory_note: str, args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        "## Translation",
        "",
        f"`python bench/translate.py --sentences {args.sentences} --beams {args.beams}` — first {n} sentences of "
        f"WMT19 newstest zh→en, OPUS-MT zh→en (Argos 1.9, int8), CPU only, {cores} cores ({cpu}), "
        f"CTranslate2 {ctranslate2.__version__}, intra_threads={cores}. Documents hold "
        f"{DOC_SENTENCES} lines each, run together into paragraphs as an article would hold them (a line "
        "without final punctuation ends a paragraph); their BLEU/chrF are against the joined references. "
        "Each run is warmed up first; model loading is not timed.",
        "",
        "| run | beam | seconds | target tok/s | sentences/s | BLEU | chrF |",
        "|---|---|---|---|---|---|---|",
        *[row.cells() for row in rows],
        "",
        f"Second pass over the same documents (translation memory): {memory_note.strip()}",
        f"Peak RSS of the whole run: {peak_mb:.0f} MB (psutil RSS now {psutil.Process().memory_info().rss / 2**20:.0f} MB).",
        "",
    ]
    return "\n".join(lines)


NOTES = "<!-- notes: kept when the bench rewrites this section -->"


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the ``## Translation`` section, leaving the others and its notes alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Translation"), None)
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
