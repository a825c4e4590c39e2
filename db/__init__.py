"""Repositories: one module per group of tables, typed rows in, SQL written as SQL.

- :mod:`db.pool`: the asyncpg pool (JSON codecs, timeouts) and database creation.
- :mod:`db.de_an`: the đề án read model, its events, the decision register, detail rows;
  :mod:`db.steps` says which rows a step writes (pure).
- :mod:`db.plans`: plans, plan items, decisions, verdicts, checkpoints, releases.
- :mod:`db.officials`: the officials register.

Each write keeps its idempotency key (``INSERT ... ON CONFLICT DO NOTHING``) and runs in one
transaction. Activities and CLI code call these; workflow modules never import them
(asyncpg in a workflow module crashes the sandbox).
"""
