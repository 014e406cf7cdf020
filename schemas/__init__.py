"""Contracts shared by every stage: typed messages, the pipeline's topology, Redis keys, SQL migrations.

    schemas.messages   RawPage, ExtractMessage, Article, FailureMessage (JSON on the wire)
    schemas.pipeline   queues, task names, who sends what to whom, routing, delivery policy
    schemas.keys       every Redis key
    schemas.migrate    the numbered SQL migrations in schemas/migrations
    schemas/README.md  the read contract for downstream services

This package imports no stage and no shell: stages and the shell import it.
"""
