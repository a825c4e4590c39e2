"""Official actions added after the lifecycle's own: one module per action, found by
:func:`workflows.de_an_actions.discover` (no list to edit).

A module here holds everything about its action (``docs/architecture.md``, "Adding an
official action"):

- the action itself: ``RECORD_INSPECTION = Action.define("record_inspection", "<nhãn>")``
  (its value is what histories and the database store; its Vietnamese label);
- its command model (a :class:`~workflows.de_an_contract.DeAnCommand`);
- its decider (``decide_<name>(state, cmd, now) -> Outcome``, built from
  :func:`workflows.de_an_decisions.begin` and :func:`~workflows.de_an_decisions.finish`);
- ``DEFINITION``, its :class:`~workflows.action_definition.ActionDefinition`: update name,
  command, decider, the stages that allow it (``moves``), who may send it at each level
  (``sent_by``), its detail row (``row``) and the tables it writes, its inbox entry, the
  reference of its update ID, its help.

Its detail row model, when it writes one (an :class:`~workflows.de_an_rows.InsertedRow`, whose
insert is derived), may live in the same module; its table is a migration.

Modules here are imported with :mod:`workflows.de_an_actions`, which the workflow imports
passed through its sandbox: imported once per worker, in their names' order. Pure: no
Temporal, no asyncpg.
"""
