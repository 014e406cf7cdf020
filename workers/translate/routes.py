"""One route per source language: which installed model translates it into English, and how.

A language's route is an installed pair model for it (``zh-en``; for a two-script language the
pair of the text's script first: ``zt-en`` for Traditional Chinese), else an installed
multilingual model whose vocabulary names it (by name). ``TRANSCRAWL_MODELS_PREFER`` changes the
order per language (:func:`preferences`): a named model first, or multilingual before pair. The
route also says which script to hand the model: a text in a script the model does not know is
converted first (:mod:`workers.translate.scripts`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path

from workers.translate import languages as lc
from workers.translate.models import InstalledModel, list_models

# Languages the Argos index has a package into English for, by the Argos code (issue 13's count of
# the index: 47 packages into English; none for sr, bs, hr, zu, xh, is, mk, ne, sw, vi).
ARGOS_INTO_ENGLISH = frozenset(
    "ar az bg bn ca cs da de el eo es et eu fa fi fr ga gl he hi hu id it ja ko ky lt lv ms nb nl pb pl "
    "pt ro ru sk sl sq sv th tl tr uk ur zh zt".split()
)
PAIR, MULTILINGUAL = "pair", "multilingual"
MULTILINGUAL_HINT = ("`transcrawl models install FOLDER` with a multilingual model (NLLB-200, M2M-100 or "
                     "MADLAD-400, as ct2-transformers-converter writes it)")


@dataclasses.dataclass(frozen=True)
class Route:
    """The model a language goes through, and the script to give it (None: one-script language)."""

    language: str
    model: InstalledModel
    script: str | None = None  # the text's script, when known
    model_script: str | None = None  # the script the model reads; differs from script: convert

    @property
    def converts(self) -> bool:
        return bool(self.script and self.model_script and self.script != self.model_script)

    def describe(self) -> str:
        kind = "multilingual" if self.model.multilingual else "pair"
        return f"{self.model.name} ({kind}, {self.model.path.name})"


def language_of(code: str) -> str:
    return lc.parse(code)[0]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One preference: for ``languages`` (ISO 639-1; empty: every language), try ``choice`` first."""

    languages: frozenset[str]
    choice: str  # PAIR, MULTILINGUAL, or an installed model's name or folder


@functools.lru_cache(maxsize=8)
def preferences(spec: str) -> tuple[Rule, ...]:
    """Parse ``TRANSCRAWL_MODELS_PREFER``: ``;``-separated ``[LANGS=]CHOICE`` rules, e.g.
    ``sw,yo=mul-nllb-200-distilled-600m; multilingual``. Raise ValueError on a malformed one."""
    rules = []
    for text in filter(None, (part.strip() for part in spec.split(";"))):
        langs, _, choice = text.rpartition("=")
        codes = [c.strip() for c in langs.split(",") if c.strip()]
        unknown = [c for c in codes if language_of(c) not in lc.LANGUAGES]
        if not choice.strip() or unknown or ("=" in text and not codes):
            raise ValueError(f"TRANSCRAWL_MODELS_PREFER: cannot read {text!r} (unknown language or "
                             "empty part; want [LANGS=]pair|multilingual|MODEL)")
        rules.append(Rule(frozenset(language_of(c) for c in codes), choice.strip()))
    return tuple(rules)


def preferred(spec: str, iso: str) -> str:
    """What the first rule of ``spec`` naming ``iso`` (or every language) prefers; else PAIR."""
    return next((r.choice for r in preferences(spec) if not r.languages or iso in r.languages), PAIR)


def _pair_script(info: InstalledModel) -> str | None:
    iso, script = lc.parse(info.source)
    lang = lc.LANGUAGES.get(iso)
    return script or (lang.scripts[0] if lang and len(lang.scripts) > 1 else None)


def known_scripts(info: InstalledModel, iso: str) -> list[str]:
    """The scripts of ``iso`` the model reads; empty when it does not say (or has only one)."""
    if not info.multilingual:
        script = _pair_script(info)
        return [script] if script else []
    tags = [lc.parse(tag) for tag in info.languages]
    return [s for i, s in tags if i == iso and s]


def model_script(info: InstalledModel, iso: str, script: str | None) -> str | None:
    """The script to hand ``info`` for text in ``iso`` written in ``script``."""
    known = known_scripts(info, iso)
    lang = lc.LANGUAGES.get(iso)
    if not known or lang is None or len(lang.scripts) < 2:
        return script
    return script if script in known else known[0]


def covers(info: InstalledModel, iso: str) -> bool:
    if info.multilingual:
        return any(lc.parse(tag)[0] == iso for tag in info.languages)
    return lc.parse(info.source)[0] == iso


def resolve(models_dir: Path, source: str, target: str = "en", *, script: str | None = None,
            prefer: str = "", installed: list[InstalledModel] | None = None) -> Route | None:
    """The route of ``source`` (any code :func:`languages.parse` reads) into ``target``, or None;
    ``prefer`` is a ``TRANSCRAWL_MODELS_PREFER`` value."""
    iso, parsed = lc.parse(source)
    script = script or parsed
    models = [m for m in (installed if installed is not None else list_models(models_dir))
              if m.target == target and covers(m, iso)]
    # The text's script's own pair first (zt-en for Hant), then the code as given, then the rest.
    pairs = sorted((m for m in models if not m.multilingual),
                   key=lambda m: (not (script and _pair_script(m) == script), m.source != source,
                                  m.source != iso, m.source))
    multi = sorted((m for m in models if m.multilingual),
                   key=lambda m: (bool(script) and script not in known_scripts(m, iso) + [None], m.name))
    choice = preferred(prefer, iso)
    order = multi + pairs if choice == MULTILINGUAL else pairs + multi
    if choice not in (PAIR, MULTILINGUAL):
        order.sort(key=lambda m: choice not in (m.name, m.path.name))  # stable: the rest keep their order
    if not order:
        return None
    best = order[0]
    return Route(iso, best, script, model_script(best, iso, script))


def install_hint(source: str, target: str = "en") -> str:
    """The command that would give ``source`` a route."""
    code = lc.argos_code(source)
    if target == "en" and code in ARGOS_INTO_ENGLISH:
        return f"`transcrawl models install {code}-{target}`"
    return MULTILINGUAL_HINT


@dataclasses.dataclass(frozen=True)
class Coverage:
    """One registry language: how many sites write it, and its route (or the command for one)."""

    language: str
    name: str
    sites: int
    route: Route | None
    hint: str | None

    def as_json(self) -> dict[str, object]:
        route = self.route
        return {
            "language": self.language, "name": self.name, "sites": self.sites,
            "route": None if route is None else {
                "model": route.model.name, "folder": route.model.path.name, "family": route.model.family,
                "multilingual": route.model.multilingual, "licence": route.model.licence,
            },
            "install": self.hint,
        }


def coverage(models_dir: Path, sites_per_language: Mapping[str, int], target: str = "en",
             prefer: str = "") -> list[Coverage]:
    """Every language of ``sites_per_language`` but the target, most sites first."""
    installed = list_models(models_dir)
    rows = []
    for code, count in sorted(sites_per_language.items(), key=lambda kv: (-kv[1], kv[0])):
        if language_of(code) == target:
            continue
        route = resolve(models_dir, code, target, prefer=prefer, installed=installed)
        rows.append(Coverage(code, lc.name(code), count, route,
                             None if route else install_hint(code, target)))
    return rows
