"""``medrules serve``: settle into the ledger and explain stored decisions over HTTP.

Modules: ``app`` (FastAPI: JSON API and error handling), ``pages`` (clerk's and citizen's
pages), ``render`` (stored decisions for templates and Markdown), ``access`` (clerks,
access codes, sign-in limits, the secret key), ``store`` (the ledger interface), ``settings``.
"""
