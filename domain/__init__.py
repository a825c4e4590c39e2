"""Pure domain of khuyến công: money, stages, rule packs, authority and deadlines.

Nothing in this package imports Temporal or asyncpg, so it is unit-tested directly and is safe
to import inside the Temporal workflow sandbox.
"""
