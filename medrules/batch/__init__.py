"""Batch settlement: claim files in, per-claim results out, on the vector backend.

::

    read (CSV, Parquet, JSON Lines, facts JSON)  →  validate (rejects)  →  vector.settle_columns  →  write

The vector backend (:mod:`medrules.batch.vector`) settles columns of claims exactly as the
scalar backend (:mod:`medrules.evaluate`) settles one member's claims; the differential
test proves it on every shipped rulebook.
"""

from medrules.batch.run import Rulebooks, Summary, load_rulebooks, settle_files, settle_table  # noqa: E402

__all__ = ["Rulebooks", "Summary", "load_rulebooks", "settle_files", "settle_table"]
