"""Replay recorded ``DeAnWorkflow`` histories (JSON from ``temporal workflow show --output
json``) the way the project's worker runs them, and print ok/fail per file; exit 1 if any fails.

    .venv/bin/python scripts/replay_histories.py DIR [DIR ...]

Each DIR's ``*.json`` and ``controls/*.json`` are replayed; a ``codec-keys`` file beside them
decrypts the payloads. The difference from a bare ``Replayer``: the worker's runner
(``khuyencong.activation_order.UpdateOrderRunner``) and a retry of a failed task, as the server
retries it. With the SDK's own runner, a history whose update was accepted after the commands
of its workflow task (shared/regressions/nondeterminism) can never replay: see
docs/upgrading-workflows.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def replay_dir(folder: Path) -> int:
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from khuyencong.activation_order import UpdateOrderRunner, replay_as_worker
    from khuyencong.codec import CodecKeys, EncryptionCodec
    from khuyencong.converter import converter_with, data_converter
    from workflows.de_an import DeAnWorkflow

    keys = folder / "codec-keys"
    converter = (
        converter_with(EncryptionCodec(CodecKeys.from_file(keys)))
        if keys.is_file()
        else data_converter
    )
    replayer = Replayer(
        workflows=[DeAnWorkflow], data_converter=converter, workflow_runner=UpdateOrderRunner()
    )
    failed = 0
    for path in sorted(folder.glob("*.json")) + sorted(folder.glob("controls/*.json")):
        text = path.read_text(encoding="utf-8")
        started = json.loads(text)["events"][0].get("workflowExecutionStartedEventAttributes", {})
        history = WorkflowHistory.from_json(started.get("workflowId") or path.stem, text)
        result = await replay_as_worker(replayer, history)
        name = path.relative_to(folder)
        if result.replay_failure is None:
            sys.stdout.write(f"ok    {name}\n")
        else:
            failed += 1
            sys.stdout.write(f"fail  {name}: {str(result.replay_failure)[:300]}\n")
    return failed


async def main(folders: list[Path]) -> int:
    failed = 0
    for folder in folders:
        failed += await replay_dir(folder)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main([Path(a) for a in sys.argv[1:]] or [Path(".")])))
