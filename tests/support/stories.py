"""Texts of one story in two versions, and of another story: for the grouping and reader tests."""

from __future__ import annotations

import datetime as dt

from schemas.messages import Article, ArticleStatus

HARBOUR = [
    "Dockers at the port of Hamburg walked out on Tuesday over pay, halting container traffic.",
    "The Verdi union said 4,500 workers joined the strike at the Burchardkai and Altenwerder terminals.",
    "Port operator HHLA said 38 ships were waiting in the Elbe and warned of delays into next week.",
    "Talks between the union and the employers' federation ZDS broke down on Monday night.",
    "Verdi is asking for a rise of 14 per cent; the employers offered 6.5 per cent over two years.",
]
# The same report as a Chinese paper carries it, machine-translated: other words, the same shape.
HARBOUR_MT = [
    "On Tuesday the dock workers of Hamburg harbour stopped work because of wages, container transport stopped.",
    "The union Verdi said that 4,500 workers took part in the strike at Burchardkai and Altenwerder.",
    "The harbour company HHLA said 38 vessels waited on the Elbe river and delays may last until next week.",
    "Negotiations of the union with the employer association ZDS failed on Monday evening.",
    "Verdi demands 14 percent more; employers proposed 6.5 percent in two years.",
]
ELECTION = [
    "Voters in Ghana chose a new president on Saturday in an election seen as a test for the region.",
    "The electoral commission said turnout was 79 per cent, the highest since 2008.",
    "Results from the 16 regions are expected by Tuesday, officials in Accra said.",
    "Observers from the African Union reported long queues but few incidents at polling stations.",
]


def harbour_story(now: dt.datetime | None = None) -> list[Article]:
    """One story as a German and a Chinese site carried it (English text of both), grouped."""
    at = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=3)
    common = {"authors": [], "published_at": at.isoformat(), "fetched_at": at.isoformat(),
              "translated_at": at.isoformat(), "translation_model": "test", "status": ArticleStatus.TRANSLATED}
    return [
        Article(url="https://www.bild.de/hafen-streik", site="de-bild", country="de", language="de",
                title="Hafenstreik", text="\n".join(["Absatz."] * len(HARBOUR)),
                title_en="Hamburg dockers strike over pay", text_en="\n".join(HARBOUR), **common),
        Article(url="https://cn.example/gang", site="cn-example", country="cn", language="zh",
                title="汉堡港工人罢工", text="\n".join(["段落。"] * len(HARBOUR_MT)),
                title_en="Hamburg harbour workers strike for wages", text_en="\n".join(HARBOUR_MT), **common),
    ]
