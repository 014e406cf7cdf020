"""Run the reader service under uvicorn, one or several processes."""

from __future__ import annotations

import os

from fastapi import FastAPI

from foundation.settings import Settings

_URL_VARIABLE = "TRANSCRAWL_READER_DATABASE_URL"


def app_from_env() -> FastAPI:
    """uvicorn's factory in each server process: the settings, and the URL ``run_server`` chose."""
    from foundation.observability import init_sentry
    from readers.api import create_app

    settings = Settings.from_env()
    init_sentry(settings, component="api")
    return create_app(settings.reader_database_url or settings.database_url or "",
                      statement_timeout_ms=settings.api_statement_timeout_ms,
                      pool_size=settings.api_pool_size)


def run_server(settings: Settings, database_url: str, *, host: str, port: int, processes: int = 1,
               log_level: str = "info") -> None:
    import uvicorn

    os.environ[_URL_VARIABLE] = database_url  # the server processes read it back in app_from_env
    for key, value in settings.to_env().items():
        os.environ.setdefault(key, value)
    uvicorn.run("readers.serve:app_from_env", factory=True, host=host, port=port, workers=processes,
                log_level=log_level, proxy_headers=True, access_log=False)
