-- 0001: sites, articles (the read contract) and failures.

CREATE TABLE sites (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    country     text NOT NULL,           -- ISO 3166-1 alpha-2, lower case
    language    text NOT NULL,           -- ISO 639-1 of the site's main language
    homepage    text NOT NULL,
    feeds       jsonb NOT NULL DEFAULT '[]',
    sitemaps    jsonb NOT NULL DEFAULT '[]',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id                bigserial PRIMARY KEY,
    url               text NOT NULL UNIQUE,   -- canonical URL: the identity of an article
    site              text NOT NULL,
    country           text NOT NULL,
    language          text NOT NULL,          -- detected language of the original, ISO 639-1
    title             text NOT NULL,
    text              text NOT NULL,          -- paragraphs separated by a newline
    title_en          text,
    text_en           text,                   -- same paragraphs, in English
    authors           text[] NOT NULL DEFAULT '{}',
    published_at      timestamptz,
    fetched_at        timestamptz NOT NULL,
    translated_at     timestamptz,
    translation_model text,
    status            text NOT NULL
                      CHECK (status IN ('translated', 'original_english', 'untranslated', 'pending')),
    status_reason     text,
    extraction        jsonb NOT NULL DEFAULT '{}',  -- which source gave each field, quality flags
    stored_at         timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX articles_status_idx ON articles (status);
CREATE INDEX articles_language_idx ON articles (language);
CREATE INDEX articles_country_published_idx ON articles (country, published_at DESC);
CREATE INDEX articles_site_idx ON articles (site);

CREATE TABLE failures (
    id              bigserial PRIMARY KEY,
    url             text NOT NULL,
    site            text,
    stage           text NOT NULL CHECK (stage IN ('crawl', 'extract', 'translate', 'store')),
    reason          text NOT NULL,            -- short code, e.g. not_html, empty_page, no_text
    detail          text,                     -- human-readable explanation
    raw_key         text,                     -- Redis key of the raw page, while it lives
    payload         jsonb,                    -- the task message, so that it can be replayed
    attempts        integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    UNIQUE (url, stage)
);

CREATE INDEX failures_open_idx ON failures (last_failed_at DESC) WHERE resolved_at IS NULL;
