"""Opening values and histories on the household-quota path of the vector backend (issue 11; docs §22.2).

:func:`medrules.batch.vquota.settle_households` settles the claims of a household in one date order, in waves.
What a person brings into the run is theirs, as on the member path (:func:`medrules.batch.vector.settle_columns`)
and as :mod:`medrules.household` settles a household file on the scalar backend:

* **Opening values** (``opening.ACC`` columns, or the members file's) seed the person's own accumulators in the
  benefit year of their earliest claim (0 in a later year). An opening value of a quota fund's payments
  accumulator — what was paid for the person's care this year before their first claim — is also drawn on their
  own quota in that year, before anyone's claim (:meth:`medrules.evaluate.quota.QuotaBook.open`).
* **Histories** (``--history NAME=FILE``, or nested in facts files) are read per person: each row reads its
  patient's records (a ``__member__`` column gives the row's person). Inside a ``cap … per holder`` amount,
  ``holder.FIELD`` reads the holder's member facts while a function over a history still reads the patient's
  records, as the scalar backend's environment does (its histories are the patient's).

A quota holder's carried-over balance is a member fact (``quota_balance``), never an opening value.
"""
from __future__ import annotations

import numpy as np

from medrules.batch.columns import Table
from medrules.batch.vhistory import MEMBER


def opening_starts(opening: dict | None, who: np.ndarray, year: np.ndarray) -> dict[str, np.ndarray]:
    """Each accumulator's value before each row's claim when it is the first of its (person, benefit year):
    the person's opening value in the benefit year of their earliest claim, else 0. ``who``, ``year``: each
    row's person and benefit year (its first day), the rows in household order."""
    if not opening:
        return {}
    in_first = year == first_years(who, year)[who]
    return {acc: np.where(in_first, np.asarray(values, np.int64)[who], 0) for acc, values in opening.items()}


def first_years(who: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Per person (indexed by person): the earliest value of ``year`` among their rows (the largest int64 for a
    person with none)."""
    first = np.full(int(who.max()) + 1 if len(who) else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, who, year)
    return first


def open_quotas(vp, book, opening: dict | None, who: np.ndarray) -> None:
    """An opening value of a quota fund's payments accumulator, drawn on the person's own quota in the benefit
    year of their earliest claim (``book``: the :class:`medrules.batch.vquota.QuotaBook`; ``who``: each row's
    person, in the book's row order)."""
    if not opening or not len(who):
        return
    people = np.unique(who)
    year = first_years(who, book.year)[people]
    for y in vp.layers:
        for f in y.funds:
            acc = f.plan.payments_acc
            acc = acc and (f"{y.prefix}.{acc}" if y.prefix else acc)
            if acc not in opening:
                continue
            for cap, _ in f.payment_caps:
                if cap.per == "holder":
                    drawn = book.drawn.setdefault(id(cap.node), np.zeros(book.members_n * book.n_years, np.int64))
                    drawn[people * book.n_years + year] = np.asarray(opening[acc], np.int64)[people]


def with_people(members: Table, n_members: int, histories: dict | None) -> Table:
    """The member columns with each person's row number (``__member__``), where a history reads its records."""
    if not histories:
        return members
    return Table(dict(members.values) | {MEMBER: np.arange(n_members, dtype=np.int64)}, members.given)


def patients_records(w) -> dict | None:
    """The columns a holder's view of a wave keeps from the patient's (``QuotaWave.room``): the row's person, so
    a history read inside the quota's amount is the patient's, as on the scalar backend."""
    try:
        return {MEMBER: w.member[MEMBER]}
    except KeyError:  # no history in this run
        return None


def partition_keys(ids: np.ndarray, homes: dict) -> np.ndarray:
    """The key a history record is partitioned by on Dask (:func:`medrules.batch.distributed.split_histories`):
    its member's household key when the spill partitioned that member's claims by household (``homes``, filled by
    :func:`medrules.batch.run.spill`), else its member id, so that a person's records go with their claims."""
    return np.array([homes.get(i, i) for i in ids.tolist()], object)
