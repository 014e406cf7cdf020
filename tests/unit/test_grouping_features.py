"""What grouping compares: weighted terms, paragraph shapes, MinHash signatures."""

from __future__ import annotations

from tests.support.stories import ELECTION, HARBOUR, HARBOUR_MT
from workers.grouping import copies, features
from workers.grouping.stories import score


def test_rare_words_names_and_numbers_weigh_most() -> None:
    terms = features.describe("Verdi strike halts Hamburg port", "\n".join(HARBOUR), "en")
    ranked = list(terms)
    assert {"verdi", "hamburg", "hhla"} <= set(ranked[:8]) and "#4500" in terms, ranked[:8]
    assert "the" not in terms and "said" not in terms  # common words are no evidence
    assert abs(sum(w * w for w in terms.values()) - 1.0) < 1e-6


def test_stems_meet_across_wordings() -> None:
    a = features.describe("Elections in Ghana", "Voters elected a president.", "en")
    b = features.describe("Ghana election", "The voter elects.", "en")
    assert {"elect", "ghana", "voter"} <= set(a) & set(b)


def test_a_translation_keeps_the_shape_another_report_does_not() -> None:
    shape = features.profile("Hamburg dockers strike over pay", "\n".join(HARBOUR))
    translated = features.profile("Hamburg harbour workers strike for wages", "\n".join(HARBOUR_MT))
    other = features.profile("Ghana votes", "\n".join(ELECTION))
    assert features.structure(shape, translated) > 0.8
    assert features.structure(shape, other) == 0.0  # 6 paragraphs against 5: not one text
    assert features.structure(shape, shape[:2]) == 0.0  # too short to say


def test_one_story_scores_and_two_do_not() -> None:
    def described(title: str, paragraphs: list[str]) -> tuple[dict[str, float], list[float]]:
        text = "\n".join(paragraphs)
        return features.describe(title, text, "en"), features.profile(title, text)

    harbour = described("Hamburg dockers strike over pay", HARBOUR)
    translated = described("Hamburg harbour workers strike for wages", HARBOUR_MT)
    election = described("Ghana votes for a new president", ELECTION)
    assert score(*harbour, *translated) > 0
    assert score(*harbour, *election) == 0


def test_other_languages_are_tagged_and_cjk_is_cut_in_bigrams() -> None:
    german = features.describe("Streik im Hamburger Hafen", "Die Gewerkschaft Verdi streikt.", "de")
    assert all(t.startswith("de:") or t.startswith("#") for t in german)
    chinese = features.describe("汉堡港工人罢工", "集装箱运输停止。", "zh")
    assert "zh:罢工" in chinese


def test_a_copy_with_other_furniture_is_one_text() -> None:
    text = "\n".join(ELECTION + HARBOUR)
    copy = "Advertisement\n" + text + "\nRead more: Africa news\nShare this story"
    a, b, c = copies.signature(text), copies.signature(copy), copies.signature("\n".join(HARBOUR_MT + ELECTION[:1]))
    assert a is not None and b is not None and c is not None
    assert copies.jaccard(a, b) >= copies.COPY_JACCARD > copies.jaccard(a, c)
    assert len(set(copies.bands(a)) & set(copies.bands(b))) > 0
    assert copies.signature("Too short to tell.") is None


def test_the_shape_alone_makes_no_story() -> None:
    shape = features.profile("Hamburg dockers strike over pay", "\n".join(HARBOUR))
    harbour = features.describe("Hamburg dockers strike over pay", "\n".join(HARBOUR), "en")
    unrelated = features.describe("Ghana votes for a new president", "\n".join(ELECTION), "en")
    assert features.cosine(harbour, unrelated) < 0.1  # nothing in common but the paragraph lengths
    assert score(harbour, shape, unrelated, shape) == 0
    assert score(harbour, shape, harbour, shape) > 0
