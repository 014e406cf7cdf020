"""Choose translation threads and batch size for a machine: time layouts and budgets side by side.

    python bench/translate_sweep.py [--device cpu] [--sentences 240] [--beam 4]
        [--layouts 1x2,2x1] [--budgets 0] [--repeats 2]

For each thread layout (inter_threads x intra_threads) and Translator token budget (0 = the
Settings default for the device), translates the same WMT19 zh→en sentences with the raw
CTranslate2 loop (``translate_batch(max_batch_size=32)``) and with Transcrawl's Translator, in
turn, ``--repeats`` times, and prints target tokens/s for each. Use it on a new kind of machine
to pick ``TRANSCRAWL_INTER_THREADS`` / ``TRANSCRAWL_INTRA_THREADS`` / ``TRANSCRAWL_MAX_BATCH_TOKENS``;
bench/translate.py then measures the chosen set-up against the raw loop in full.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import ctranslate2
import sentencepiece

sys.path.insert(0, str(Path(__file__).resolve().parent))

from translate import DATA, PACKAGE  # noqa: E402 - the same model and data as bench/translate.py

from foundation.settings import Settings  # noqa: E402
from workers.translate import Translator, install_model  # noqa: E402
from workers.translate.loading import choose_batch_tokens, choose_device  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--sentences", type=int, default=240)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--layouts", default="1x2,2x1", help="inter x intra thread layouts, comma-separated")
    parser.add_argument("--budgets", default="0", help="Translator max_batch_tokens values (0 = default)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    src = Path(f"{DATA}.zho").read_text().splitlines()[: args.sentences]
    layouts = [tuple(int(x) for x in item.split("x")) for item in args.layouts.split(",")]
    budgets = [int(b) for b in args.budgets.split(",")]
    print(f"{len(src)} sentences, beam {args.beam}, device {args.device}, {len(os.sched_getaffinity(0))} cores, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        model = install_model(str(PACKAGE), models).path
        sp = sentencepiece.SentencePieceProcessor(model_file=str(model / "sentencepiece.model"))
        tokens = [sp.encode(s, out_type=str) for s in src]
        for inter, intra in layouts:
            base = Settings(models_dir=models, translate_device=args.device, inter_threads=inter, intra_threads=intra)
            device, compute = choose_device(base)
            raw = ctranslate2.Translator(str(model / "model"), device=device, compute_type=compute,
                                         inter_threads=inter, intra_threads=intra)
            raw.translate_batch(tokens[:8], beam_size=args.beam)
            translators = {}
            for budget in budgets:
                settings = Settings(**{**base.__dict__, "max_batch_tokens": budget})
                translators[choose_batch_tokens(settings, device)] = Translator(settings)
            for translator in translators.values():
                translator.translate_documents("zh", [src[:8]], beam_size=args.beam)
            totals: dict[str, list[float]] = {}
            for _ in range(args.repeats):
                started = time.perf_counter()
                results = raw.translate_batch(tokens, beam_size=args.beam, max_batch_size=32)
                seconds = time.perf_counter() - started
                totals.setdefault("raw", []).append(sum(len(r.hypotheses[0]) for r in results) / seconds)
                for budget, translator in translators.items():
                    translator.memory.clear()
                    before = translator.stats.target_tokens
                    started = time.perf_counter()
                    translator.translate_documents("zh", [[s] for s in src], beam_size=args.beam)
                    seconds = time.perf_counter() - started
                    rate = (translator.stats.target_tokens - before) / seconds
                    totals.setdefault(f"Translator {budget} tokens", []).append(rate)
            line = ", ".join(f"{name} {sum(r) / len(r):.0f} tok/s" for name, r in totals.items())
            print(f"{device}/{compute} {inter}x{intra}: {line} (load {os.getloadavg()[0]:.2f})", flush=True)
            del raw, translators


if __name__ == "__main__":
    main()
