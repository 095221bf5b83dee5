"""The TextMate grammar (``editors/medrules.tmLanguage.json``), generated from the grammar's keywords.

Regexes stay in the subset Oniguruma (TextMate, VS Code) and Python's ``re`` read alike, so the
test suite compiles and runs them. Regenerate after changing the keywords::

    python -m medrules.highlight.textmate > editors/medrules.tmLanguage.json
"""
from __future__ import annotations

import json
import re

from medrules.highlight import (BUILTINS, CJK_RUN, CONSTANT_WORDS, DAY_UNITS, MONEY_UNITS, MONTH_UNITS,
                                POINT_UNITS, keyword_words, unit_words)

SCOPE = "source.medrules"
DECLARING = ("fund", "parameter", "accumulator", "source", "enum", "rulebook", "facts")
_NUM = r"\d[\d_]*(?:\.\d+)?"
_IDENT = r"[^\W\d]\w*"


def _alt(items) -> str:
    return "|".join(re.escape(w) for w in sorted(items, key=len, reverse=True))


def grammar() -> dict:
    others = [w for w in keyword_words() if w not in CONSTANT_WORDS]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "medrules",
        "scopeName": SCOPE,
        "fileTypes": ["mr"],
        "patterns": [{"include": f"#{name}"} for name in
                     ("comment", "string", "declaration", "date", "quantity", "number", "constant", "builtin",
                      "keyword", "keyword-zh", "fact", "operator", "punctuation")],
        "repository": {
            "comment": {"name": "comment.line.number-sign.medrules", "match": r"#.*$"},
            "string": {"name": "string.quoted.double.medrules", "match": r'"(?:[^"\\\n]|\\.)*"'},
            "declaration": {"match": rf"(?<![\w.])({_alt(DECLARING)})\s+({_IDENT})",
                            "captures": {"1": {"name": "storage.type.medrules"},
                                         "2": {"name": "entity.name.type.medrules"}}},
            "date": {"name": "constant.numeric.date.medrules", "match": r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)|(?<!\d)\d{2}-\d{2}(?!\d)"},
            "quantity": {"name": "constant.numeric.quantity.medrules",
                         "match": rf"{_NUM}%[ \t]*(?:relative\b|相对)|{_NUM}%|{_NUM}[ \t]*{unit_words(MONEY_UNITS)}"
                                  rf"|{_NUM}[ \t]*{unit_words(POINT_UNITS)}"
                                  rf"|\d[\d_]*[ \t]*{unit_words(DAY_UNITS + MONTH_UNITS)}"},
            "number": {"name": "constant.numeric.medrules", "match": rf"(?<![A-Za-z_\d.]){_NUM}"},
            "constant": {"name": "constant.language.medrules", "match": rf"(?<![\w.])(?:{_alt(CONSTANT_WORDS)})(?!\w)"},
            "builtin": {"name": "support.function.medrules", "match": rf"(?<![\w.])(?:{_alt(BUILTINS)})(?=\s*\()"},
            "keyword": {"name": "keyword.control.medrules", "match": rf"(?<![\w.])(?:{_alt(others)})(?!\w)"},
            "keyword-zh": {"name": "keyword.control.zh.medrules", "match": CJK_RUN},
            "fact": {"match": rf"(?<![\w.])(claim|member)(\.)({_IDENT})",
                     "captures": {"1": {"name": "variable.language.medrules"},
                                  "3": {"name": "variable.other.member.medrules"}}},
            "operator": {"name": "keyword.operator.medrules", "match": r"==|!=|<=|>=|<|>|\+|-|\*|/|="},
            "punctuation": {"name": "punctuation.separator.medrules", "match": r"[{}(),:.|]"},
        },
    }


def text() -> str:
    return json.dumps(grammar(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    import sys
    sys.stdout.write(text())
