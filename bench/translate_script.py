"""Traditional Chinese through the Simplified-trained zh→en model: with and without conversion.

    python bench/translate_script.py [--sentences 400] [--beam 2] [--no-pipeline] [--json]

Input: the first N lines of NTREX-128 ``zho_Hant`` (references: ``eng.txt``) from
../shared/data/ntrex; model: the OPUS-MT zh→en package (OPUS-MT by Jörg Tiedemann and Santhosh
Thottingal, CC-BY 4.0) from ../shared/models, installed into a temporary folder with
``transcrawl models install``. Three runs, chrF (sacrebleu) of each against the references:

- raw CTranslate2 on the Traditional text as it is (SentencePiece pieces in, pieces out);
- raw CTranslate2 on the text converted to Simplified first (OpenCC t2s, workers/translate/scripts.py);
- the Translator (the worker's code path: script detected per article, converted, split, batched),
  one document per NTREX article (DOCUMENT_IDS.tsv), lines as paragraphs.
"""

from __future__ import annotations

import argparse
import json
import os
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
from workers.translate import Translator, scripts  # noqa: E402

SHARED = Path(os.environ.get("TRANSCRAWL_SHARED") or REPO.parent / "shared")
PACKAGE = SHARED / "models" / "translate-zh_en-1_9.argosmodel"
NTREX = SHARED / "data" / "ntrex"


def install(models: Path) -> Path:
    env = {**os.environ, "TRANSCRAWL_MODELS_DIR": str(models), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "transcrawl.cli", "models", "install", str(PACKAGE)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return models / "zh-en"


def raw(model: Path, lines: list[str], beam: int, threads: int) -> tuple[list[str], float]:
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
    ct2 = ctranslate2.Translator(str(model / "model"), device="cpu", compute_type="int8",
                                 inter_threads=1, intra_threads=threads)
    started = time.monotonic()
    results = ct2.translate_batch([sp.encode(s, out_type=str) for s in lines], beam_size=beam,
                                  max_batch_size=1024, batch_type="tokens", max_decoding_length=512)
    out = ["".join(r.hypotheses[0]).replace("\u2581", " ").strip() for r in results]
    return out, time.monotonic() - started


def pipeline(models: Path, lines: list[str], ids: list[str], beam: int, threads: int) -> tuple[list[str], float]:
    docs: list[list[str]] = []
    for i, line in enumerate(lines):
        if i == 0 or ids[i] != ids[i - 1]:
            docs.append([])
        docs[-1].append(line)
    translator = Translator(Settings(models_dir=models, inter_threads=1, intra_threads=threads))
    started = time.monotonic()
    out = translator.translate_documents("zh", docs, beam_size=beam)
    return [p for doc in out for p in doc], time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--beam", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.sentences
    hant = (NTREX / "zho_Hant.txt").read_text().splitlines()[:n]
    refs = (NTREX / "eng.txt").read_text().splitlines()[:n]
    ids = [row.split("\t")[0] for row in (NTREX / "DOCUMENT_IDS.tsv").read_text().splitlines()[:n]]
    converted = [scripts.convert(s, "zh", "Hant", "Hans") for s in hant]
    detected = sum(scripts.detect("zh", s) == "Hant" for s in hant)
    with tempfile.TemporaryDirectory() as tmp:
        model = install(Path(tmp) / "models")
        report: dict[str, object] = {"sentences": n, "beam": args.beam, "detected_hant": detected}
        for name, lines in (("raw_unconverted", hant), ("raw_converted", converted)):
            out, secs = raw(model, lines, args.beam, args.threads)
            report[name] = {"chrf": round(sacrebleu.corpus_chrf(out, [refs]).score, 1), "seconds": round(secs, 1)}
        if not args.no_pipeline:
            out, secs = pipeline(model.parent, hant, ids, args.beam, args.threads)
            report["pipeline"] = {"chrf": round(sacrebleu.corpus_chrf(out, [refs]).score, 1), "seconds": round(secs, 1)}
    if args.json:
        print(json.dumps(report))
        return
    print(f"NTREX zho_Hant, {n} sentences, beam {args.beam} ({detected} detected as Hant)")
    for key in ("raw_unconverted", "raw_converted", "pipeline"):
        if key in report:
            row = report[key]
            assert isinstance(row, dict)
            print(f"  {key:16s} chrF {row['chrf']:5.1f}   {row['seconds']:6.1f} s")


if __name__ == "__main__":
    main()
