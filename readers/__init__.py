"""The reader service: what downstream apps and readers see, read from the documented contract only.

    Postgres (articles, sites; role transcrawl_reader, read-only, statement timeout)
        └─▶ queries   parameterised SQL: keyset-paged lists, one article, countries, sites
              ├─▶ api     /v1/* JSON, /openapi.json, /healthz, /metrics (FastAPI on uvicorn)
              ├─▶ feeds   Atom and JSON Feed per country and per site
              └─▶ page    the reader page at / (server-rendered Jinja2, no script)

``transcrawl serve`` runs it. Nothing here writes; nothing a client sends reaches SQL except as a
bound parameter.
"""
