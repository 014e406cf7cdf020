-- 0004: what readers see (lead image, standfirst) and what the read API lists and searches by.

ALTER TABLE articles
    ADD COLUMN image_url      text,   -- the lead image, absolute URL, its largest size
    ADD COLUMN image_caption  text,
    ADD COLUMN image_credit   text,
    ADD COLUMN description    text,   -- the standfirst or declared summary, original language
    ADD COLUMN description_en text,   -- in English (translated with the article, or copied)
    -- The order of lists and feeds: the stated publication time, never later than the fetch
    -- (a page cannot be published after it was fetched; a wrong time zone must not pin it on top).
    ADD COLUMN listed_at      timestamptz
        GENERATED ALWAYS AS (least(coalesce(published_at, fetched_at), fetched_at)) STORED,
    -- Full-text search over the English title (weight A), standfirst (B) and text (C).
    ADD COLUMN search_en      tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, coalesce(title_en, '')), 'A')
            || setweight(to_tsvector('english'::regconfig, coalesce(description_en, '')), 'B')
            || setweight(to_tsvector('english'::regconfig, coalesce(text_en, '')), 'C')
        ) STORED;

-- Keyset paging, newest first, overall and per filter: every list query walks one of these.
CREATE INDEX articles_listed_idx ON articles (listed_at DESC, id DESC);
CREATE INDEX articles_country_listed_idx ON articles (country, listed_at DESC, id DESC);
CREATE INDEX articles_site_listed_idx ON articles (site, listed_at DESC, id DESC);
CREATE INDEX articles_language_listed_idx ON articles (language, listed_at DESC, id DESC);
CREATE INDEX articles_search_idx ON articles USING gin (search_en);
-- Superseded by the (…, listed_at, id) indexes above.
DROP INDEX IF EXISTS articles_country_published_idx;
DROP INDEX IF EXISTS articles_site_idx;
DROP INDEX IF EXISTS articles_language_idx;

GRANT SELECT ON articles, sites TO transcrawl_reader;
