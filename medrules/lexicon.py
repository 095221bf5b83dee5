"""The Chinese keyword set: each Chinese word stands for one or more English words.

A rulebook is written with one keyword set or the other; the parser reads the Chinese
words as the English tokens they stand for (``最高支付限额`` is ``cap payments at``), so
both spellings give the same tree, checked rulebook and settlements. Words of the
vocabulary that are names in the English grammar (``payments``, ``admission``,
``half_up``) are read as those names, so the tree holds the same strings.

Rules (docs/language.md §15):

* names (funds, parameters, facts, enum members) are ASCII identifiers in both sets;
  Chinese text goes in quotes (labels, citations, notes), so a run of Chinese characters
  outside quotes is always keywords;
* keywords are read longest first, so they need no spaces between them or next to names,
  numbers and quotes: ``起付标准300元每年度``;
* ``时`` closes a condition after ``当`` if one likes (``当 member.category == retired 时``)
  and stands for nothing;
* units inside literals: ``元``, ``个百分点``, ``天``/``日``, ``个月``, ``%相对``.
"""
from __future__ import annotations

import functools
import re

# Chinese word -> the English words it stands for. One line per word; the first word of
# each entry is a keyword, the others may be names of the English vocabulary.
ZH: tuple[tuple[str, tuple[str, ...]], ...] = (
    # header
    ("规则书", ("rulebook",)),
    ("标题", ("title",)),
    ("险种", ("scheme",)),
    ("统筹地区", ("jurisdiction",)),
    ("施行自", ("effective", "from")),
    ("施行", ("effective",)),
    ("自", ("from",)),
    ("至", ("to",)),
    ("年度起始", ("year", "starts")),
    ("年度", ("year",)),
    ("起始", ("starts",)),
    ("按", ("by",)),
    ("四舍五入", ("rounding", "half_up")),
    ("银行家舍入", ("rounding", "half_even")),
    ("去尾法", ("rounding", "down")),
    ("进一法", ("rounding", "up")),
    ("舍入", ("rounding",)),
    ("每笔支付", ("per", "payment")),
    ("每年度", ("per", "year")),
    ("每次住院", ("per", "admission")),
    ("每次结算", ("per", "claim")),
    ("每", ("per",)),
    ("天数计首日", ("days", "counted", "inclusive")),
    ("天数不计首日", ("days", "counted", "exclusive")),
    ("天数计法", ("days", "counted")),
    ("天数", ("days",)),
    ("计法", ("counted",)),
    ("叠加于", ("layers", "on")),
    ("叠加", ("layers",)),
    ("修订自", ("amends",)),
    ("经办机构", ("office",)),
    ("申诉", ("appeal",)),
    # sources
    ("文件", ("source",)),
    ("文号", ("number",)),
    ("发布于", ("issued",)),
    # declarations
    ("枚举", ("enum",)),
    ("参保人事实", ("facts", "member")),
    ("就诊事实", ("facts", "claim")),
    ("事实", ("facts",)),
    ("集合", ("set", "of")),
    ("集", ("set",)),
    ("之", ("of",)),
    ("参数", ("parameter",)),
    ("累计器", ("accumulator",)),
    # funds
    ("基金", ("fund",)),
    ("适用条件", ("applies", "when")),
    ("适用", ("applies",)),
    ("当", ("when",)),
    ("否则", ("otherwise",)),
    ("计算基数", ("base",)),
    ("费用累计至", ("accumulate", "cost", "in")),
    ("支付累计至", ("accumulate", "payments", "in")),
    ("起付累计至", ("accumulate", "deductible", "in")),
    ("累计", ("accumulate",)),
    ("起付标准", ("deductible",)),
    ("最高支付限额", ("cap", "payments", "at")),
    ("费用限额", ("cap", "cost", "at")),
    ("封顶", ("cap",)),
    ("条款", ("at",)),
    ("支付比例", ("rate",)),
    ("分段依据", ("bands", "on")),
    ("分段", ("bands",)),
    ("依据", ("on",)),
    ("不超过", ("up", "to")),
    ("向上", ("up",)),
    ("超过", ("above",)),
    ("调整", ("adjust",)),
    ("定额", ("flat",)),
    ("不予支付", ("exclude",)),
    ("待遇断崖", ("cliff",)),
    ("原因", ("because",)),
    ("将", ("treat",)),
    ("视为", ("as",)),
    ("就高", ("highest",)),
    ("总费用为", ("total", "cost", "is")),
    ("总计", ("total",)),
    ("费用", ("cost",)),
    ("为", ("is",)),
    # readings of an ambiguous text, and the facts a member can change
    ("解读", ("reading",)),
    ("采用", ("chosen",)),
    ("依解读", ("under",)),
    ("可补正事实", ("actionable",)),
    # contributions (what a member owes)
    ("参保缴费", ("contribution",)),
    ("缴费标准", ("premium",)),
    ("补助", ("subsidy",)),
    ("按月折算", ("prorate",)),
    # membership over time: the scheme a claim is settled under; what a third party owes back
    ("参保于", ("insured",)),
    ("追偿", ("recover",)),
    # citations
    ("引用", ("cites",)),
    ("假定", ("assumed",)),
    ("说明", ("note",)),
    # expressions
    ("不属于", ("not", "in")),
    ("属于", ("in",)),
    ("且", ("and",)),
    ("或", ("or",)),
    ("非", ("not",)),
    ("是", ("true",)),
    ("否", ("false",)),
    ("无", ("none",)),
    # filler: closes 当…时, stands for nothing
    ("时", ()),
)

FILLER = "时"

# Units written inside literals: English -> Chinese (the grammar accepts both).
UNITS_ZH = {"yuan": "元", "points": "个百分点", "point": "个百分点", "days": "天", "day": "天",
            "months": "个月", "month": "个月", "relative": "相对"}
UNITS_EN = {"元": "yuan", "个百分点": "points", "天": "days", "日": "days", "个月": "months", "相对": "relative"}

EXPANSION: dict[str, tuple[str, ...]] = dict(ZH)


@functools.lru_cache(maxsize=None)
def word_pattern() -> str:
    """The regular expression of one Chinese keyword, longest words first."""
    return "|".join(re.escape(w) for w in sorted(EXPANSION, key=lambda w: (-len(w), w)))


@functools.lru_cache(maxsize=None)
def by_english() -> dict[tuple[str, ...], str]:
    """English word sequences -> the Chinese word (to translate into Chinese)."""
    return {en: zh for zh, en in ZH if en}


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
