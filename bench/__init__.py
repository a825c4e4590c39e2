"""The lifecycle benchmark (issue 14): the project's đề án beside Temporal's own floor.

- :mod:`bench.floor`: the floor, the cheapest Temporal program of the same shape, and its
  worker (``python -m bench.floor``);
- :mod:`bench.procstat`: CPU and memory of processes, read from ``/proc``;
- :mod:`bench.lifecycle`: the stack, the modes, the table and the row check that
  ``scripts/bench_lifecycle.py`` runs.
"""
