"""``actionable``: every fact named is a declared member or claim fact."""
from __future__ import annotations

from medrules.check.context import Context, did_you_mean


def check(ctx: Context) -> None:
    for a in ctx.rulebook.actionable:
        for ref in a.facts:
            record, _, name = ref.text.partition(".")
            fields = ctx.records.get(record)
            if base := ctx.base:
                fields = {**base.records.get(record, {}), **(fields or {})}
            if record not in ("member", "claim") or not name or "." in name:
                ctx.error("actionable", f"'{ref.text}' is not a fact: name a member or claim fact, e.g. "
                          "'member.paid_on'", ref.span)
            elif not fields or name not in fields:
                ctx.error("actionable", f"'{ref.text}' is not a declared fact", ref.span,
                          did_you_mean(name, fields or {}))
