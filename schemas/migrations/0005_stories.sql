-- 0005: stories across countries and languages, and copies (wire copy, syndication).

CREATE TABLE stories (
    id             bigserial PRIMARY KEY,
    title_en       text NOT NULL,             -- representative: the English title of its earliest article
    first_seen     timestamptz NOT NULL,      -- earliest listed_at of its articles
    last_seen      timestamptz NOT NULL,      -- latest listed_at of its articles
    article_count  integer NOT NULL,
    countries      text[] NOT NULL,           -- ISO 3166-1 alpha-2, sorted
    languages      text[] NOT NULL,           -- ISO 639-1 of the originals, sorted
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    titled_in_english boolean NOT NULL DEFAULT false  -- internal to grouping: title_en is an English title
);
CREATE INDEX stories_last_seen_idx ON stories (last_seen DESC, id DESC);
CREATE INDEX stories_countries_idx ON stories USING gin (countries);

ALTER TABLE articles
    ADD COLUMN story_id     bigint REFERENCES stories (id) ON DELETE SET NULL,
    ADD COLUMN duplicate_of bigint REFERENCES articles (id) ON DELETE SET NULL;
CREATE INDEX articles_story_idx ON articles (story_id, listed_at DESC, id DESC) WHERE story_id IS NOT NULL;

-- Grouping's own state (not the read contract; the reader role cannot see it).
CREATE TABLE grouping_articles (          -- what each grouped article looks like, for matching and regrouping
    article_id  bigint PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    listed_at   timestamptz NOT NULL,
    on_english  boolean NOT NULL,          -- grouped on English text, or on its original (no English yet)
    terms       jsonb NOT NULL,            -- {term: weight}, unit length
    profile     real[] NOT NULL,           -- its paragraphs' lengths: the shape a translation keeps
    signature   bigint[],                  -- MinHash of the original text (null: too short)
    grouped_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grouping_articles_listed_idx ON grouping_articles (listed_at);

CREATE TABLE grouping_postings (          -- each article's heaviest terms: candidates by one index lookup
    term        text NOT NULL,
    article_id  bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    weight      real NOT NULL,
    PRIMARY KEY (term, article_id)
);
CREATE INDEX grouping_postings_article_idx ON grouping_postings (article_id);

CREATE TABLE grouping_bands (             -- MinHash LSH bands: candidate copies by one index lookup
    band        smallint NOT NULL,
    hash        bigint NOT NULL,
    article_id  bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (band, hash, article_id)
);
CREATE INDEX grouping_bands_article_idx ON grouping_bands (article_id);

ALTER TABLE failures DROP CONSTRAINT IF EXISTS failures_stage_check;
ALTER TABLE failures ADD CONSTRAINT failures_stage_check
    CHECK (stage IN ('crawl', 'extract', 'translate', 'store', 'group'));

GRANT SELECT ON stories TO transcrawl_reader;
