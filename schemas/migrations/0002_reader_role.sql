-- 0002: a read-only role for downstream readers, with grants on the read contract only.
-- Roles are cluster-wide: create it once, grant per database. NOLOGIN: give it to login roles
-- with `GRANT transcrawl_reader TO some_service;`.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'transcrawl_reader') THEN
        CREATE ROLE transcrawl_reader NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO transcrawl_reader;
GRANT SELECT ON articles, sites TO transcrawl_reader;
