"""The fault suite (``khuyencong chaos``) and the update fuzzer (``khuyencong chaos fuzz``).

One idea per module:

- :mod:`~khuyencong.chaos.stack`: a throw-away stack of real processes (embedded PostgreSQL,
  the Temporal dev server on a database file, worker subprocesses) that can be killed and
  restarted;
- :mod:`~khuyencong.chaos.officials`: the simulated officials and the admin client they act
  through (one function to adapt when officials need credentials);
- :mod:`~khuyencong.chaos.paths`: the lifecycles the officials take đề án through, with what
  each must end as;
- :mod:`~khuyencong.chaos.clerk`: an official at the keyboard: retries what failed for
  transport reasons, takes a refusal as a refusal;
- :mod:`~khuyencong.chaos.faults`: SIGKILL of workers, kill -9 of Temporal, PostgreSQL
  restarts, spread over the run;
- :mod:`~khuyencong.chaos.checks`: what must hold at the end (stages, stuck workflows,
  replay, PostgreSQL against the workflows), failing histories exported;
- :mod:`~khuyencong.chaos.run`: the suite from start to table;
- :mod:`~khuyencong.chaos.oracle` and :mod:`~khuyencong.chaos.fuzz`: random actions against
  an oracle written from ``docs/officials.md`` and the domain brief.
"""
