"""The internal admin tool: officials, đề án, inbox and actions.

:class:`AdminClient` is the typed async client any internal tool (this CLI, a web page, a
script) uses; :mod:`khuyencong.admin.cli` is the ``khuyencong`` command line on top of it.
"""

from khuyencong.admin.client import COMMANDS, AdminClient, update_id_for
from khuyencong.admin.errors import ActionRefused, AdminError, BadInput, NotFound
from khuyencong.admin.models import (
    ActionOutcome,
    BatchItem,
    BatchOutcome,
    BatchVerdict,
    DeAnFilter,
    DeAnRow,
    DeAnView,
    InboxItem,
    Official,
    OfficialIn,
    Page,
    RefusalInfo,
    RegisterResult,
)

__all__ = [
    "COMMANDS",
    "ActionOutcome",
    "ActionRefused",
    "AdminClient",
    "AdminError",
    "BadInput",
    "BatchItem",
    "BatchOutcome",
    "BatchVerdict",
    "DeAnFilter",
    "DeAnRow",
    "DeAnView",
    "InboxItem",
    "NotFound",
    "Official",
    "OfficialIn",
    "Page",
    "RefusalInfo",
    "RegisterResult",
    "update_id_for",
]
