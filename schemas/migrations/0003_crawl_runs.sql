-- 0003: one row per site per crawl run, written by the crawler process when the run ends.

CREATE TABLE crawl_runs (
    id             bigserial PRIMARY KEY,
    site           text NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    pages_fetched  integer NOT NULL DEFAULT 0,   -- every HTTP response: robots, feeds, sitemaps, articles
    new_articles   integer NOT NULL DEFAULT 0,   -- article pages queued for extraction
    not_modified   integer NOT NULL DEFAULT 0,   -- discovery URLs answered 304
    errors         integer NOT NULL DEFAULT 0,   -- failed article fetches + discovery problems
    status         text NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
    finish_reason  text NOT NULL,                -- Scrapy's: finished, closespider_pagecount, ...
    problems       jsonb NOT NULL DEFAULT '[]'
);

CREATE INDEX crawl_runs_site_idx ON crawl_runs (site, started_at DESC);
