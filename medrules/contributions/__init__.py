"""Contributions (the premium side): what a member owes for a year's cover.

The pipeline stages live where every stage lives — grammar block ``contribution``, nodes
``Contribution``/``Premium``/``Subsidy``/``Prorate`` (:mod:`medrules.nodes`), checker
:mod:`medrules.check.contributions`, plan :mod:`medrules.plan.contribution`, scalar backend
:mod:`medrules.evaluate.contribution`, explanation :mod:`medrules.explain.contribution`; this package
holds the ``medrules assess`` command's body (:mod:`medrules.contributions.command`).
"""
