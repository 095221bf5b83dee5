"""Jinja2 templates of the static pages (autoescaping on)."""
from __future__ import annotations

import functools

import jinja2


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("medrules.site", "templates"),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
