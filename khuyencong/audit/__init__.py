"""Audit: the tamper-evident chain of every đề án's record (migration 0009), its evidence
documents, the evidence package an inspector verifies offline, and the Temporal history
exported at close.

- :mod:`khuyencong.audit.chain`: the canonical content and the hashes (pure; the offline
  verifier uses it too).
- :mod:`khuyencong.audit.verify`: ``khuyencong audit verify``, the chains recomputed from the
  rows of PostgreSQL.
- :mod:`khuyencong.audit.documents`: the document store and the checks of a file.
- :mod:`khuyencong.audit.package`: ``de-an evidence`` (one ZIP) and ``audit verify-package``.
- :mod:`khuyencong.audit.history`: the history export sweep and ``de-an history``.
- :mod:`khuyencong.audit.cli`: the commands.
"""
