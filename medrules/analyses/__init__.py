"""Analyses above settlement: what-if (a fact changed), sensitivity (which facts matter most) and
diff (a new policy year on the same claims, attributed to the provisions that changed).

Each analysis settles the same facts more than once. A change of a parameter is an ``overrides``
entry on the plan (``Program.with_overrides``, :func:`medrules.plan.lower`): parameters and the
band edges written with them are folded again, nothing is patched. ``medrules.explain`` only reads
a settlement and its plan; it never re-settles.
"""
from __future__ import annotations

from medrules.analyses.diff import Diff, diff, provision_changes
from medrules.analyses.whatif import WhatIf, date_sensitivity, sensitivity, what_if

__all__ = ["Diff", "WhatIf", "date_sensitivity", "diff", "provision_changes", "sensitivity", "what_if"]
