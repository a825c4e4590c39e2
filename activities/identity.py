"""``verify_registration``: the local activity that proves who registered a đề án.

A workflow start has no validator, and workflow code runs again on every replay, so the
registration's statement (:mod:`khuyencong.identity`, handed to ``DeAnWorkflow`` by the worker's
:class:`~khuyencong.identity_worker.IdentityInterceptor`) is judged here, outside the
sandbox, against the worker's verify keys and in-memory officials register. Its verdict (proven,
or a typed refusal) is recorded in the history by the local activity's marker: a replay reads
it instead of judging again against a register that may have changed since.

It never raises for a refusal (the verdict carries it), so retries are only for the unexpected.
An official the register does not know yet is looked up again for up to
:data:`UNKNOWN_GRACE_SECONDS` while the register refreshes: one added a moment before the
registration (``officials add``, the backfill's seeding) reaches the worker's copy by NOTIFY,
and a refusal here would close the đề án's first run for good.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from domain.errors import Refusal, RefusalCode
from khuyencong import identity
from workflows.de_an_contract import DeAnRegistrationProof, DeAnRegistrationVerdict

VERIFY_REGISTRATION = "verify_registration"
UNKNOWN_GRACE_SECONDS = 2.0


class RegistrationIdentityActivities:
    """``verify_registration`` against ``keys`` and ``register`` (the worker's snapshot)."""

    def __init__(self, keys: identity.VerifyKeys, register: identity.OfficialsRegister) -> None:
        self._keys = keys
        self._register = register

    @activity.defn(name=VERIFY_REGISTRATION)
    async def verify_registration(self, proof: DeAnRegistrationProof) -> DeAnRegistrationVerdict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + UNKNOWN_GRACE_SECONDS
        while True:
            version = self._register.version
            try:
                self._verify(proof)
            except Refusal as refusal:
                if refusal.code != RefusalCode.OFFICIAL_UNKNOWN or loop.time() >= deadline:
                    return self._refused(proof, refusal)
                while self._register.version == version and loop.time() < deadline:
                    await asyncio.sleep(0.05)
                continue
            return DeAnRegistrationVerdict(ok=True)

    def _verify(self, proof: DeAnRegistrationProof) -> None:
        actor = proof.registered_by
        identity.verify_registration(
            proof.statement,
            keys=self._keys,
            register=self._register,
            now=proof.at,
            workflow_id=proof.workflow_id,
            registered_by=(actor.official_id, actor.role.value, actor.province),
            province=proof.province,
        )

    @staticmethod
    def _refused(proof: DeAnRegistrationProof, refusal: Refusal) -> DeAnRegistrationVerdict:
        activity.logger.warning("registration of %s refused: %s", proof.workflow_id, refusal.code)
        return DeAnRegistrationVerdict(
            ok=False, error_type=refusal.code, message=refusal.message, field=refusal.field
        )
