"""`medrules docs`: each rulebook beside its policy text (quotes located and marked), parameters across
policy years, links between amendments and their bases; autoescaped templates."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.cli import app
from medrules.site.build import PolicyText, build_site


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    import os
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        r = CliRunner().invoke(app, ["docs", "rulebooks/quzhou", "rulebooks/pingyang", "--out", str(out)])
    finally:
        os.chdir(here)
    assert r.exit_code == 0, r.output
    assert "8 pages written" in r.output  # 7 rulebooks (pingyang/contributions-2019, quzhou/membership-2020 and
    # quzhou/residents-2020 among them) and the index
    return out


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_the_index_links_every_rulebook(site):
    index = (site / "index.html").read_text("utf-8")
    for page in ("quzhou-employee-2012.html", "quzhou-employee-mutual-aid-2012.html",
                 "pingyang-residents-earlier.html", "pingyang-residents-2019.html",
                 "pingyang-contributions-2019.html"):
        assert f'href="{page}"' in index and (site / page).exists()


def test_every_quote_of_the_quzhou_rulebook_is_located_in_its_shipped_policy_text(site):
    page = (site / "quzhou-employee-2012.html").read_text("utf-8")
    assert "15 of 15 quotes located in the policy texts." in page
    # the deductible's clause, marked where the policy text says it (full-width and ASCII punctuation alike)
    assert re.search(r"<mark><a href=\"#q\d+\">1个自然年度内起付标准下调至300元</a></mark>", page)
    # the full policy text carries the same mark, linking back to the provision
    anchor = re.search(r'<mark id="(q\d+)"><a href="#p-q\d+">1个自然年度内起付标准下调至300元</a>', page).group(1)
    assert f'id="p-{anchor}"' in page


def test_provisions_are_highlighted_rulebook_code(site):
    page = (site / "quzhou-employee-2012.html").read_text("utf-8")
    assert 'class="highlight"' in page
    assert '<span class="k">deductible</span><span class="w"> </span><span class="m">300 yuan</span>' in page


def test_parameters_across_policy_years_and_amendment_links(site):
    later = (site / "pingyang-residents-2019.html").read_text("utf-8")
    earlier = (site / "pingyang-residents-earlier.html").read_text("utf-8")
    assert 'amends <a href="pingyang-residents-earlier.html">pingyang/residents-earlier</a>' in later
    assert 'amended by <a href="pingyang-residents-2019.html">pingyang/residents-2019</a>' in earlier
    # 镇(乡)卫生院起付线从300元调整为600元: the row shows 300 yuan (2018) then 600 yuan (2019)
    row = re.search(r"<tr><td><code>township_deductible</code></td>.*?</tr>", later, re.S).group(0)
    assert re.findall(r"<code>([^<]*)</code>", row)[1:] == ["300 yuan", "600 yuan"]


def test_schemes_side_by_side_in_one_folder_are_not_policy_years(site):
    page = (site / "quzhou-employee-2012.html").read_text("utf-8")
    table = _text(re.search(r"Parameters across policy years.*?</table>", page, re.S).group(0))
    assert "employee-mutual-aid" not in table


def test_quotes_not_in_the_texts_are_reported_not_hidden(site):
    page = (site / "quzhou-employee-mutual-aid-2012.html").read_text("utf-8")
    assert "3 of 4 quotes located" in page and "not found in the policy texts" in page


def test_labels_are_escaped(tmp_path):
    text = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text("utf-8").replace(
        '"衢州市职工基本医疗保险待遇(2012年起)"', '"<script>alert(1)</script>"')
    path = tmp_path / "employee-2012.mr"
    path.write_text(text, encoding="utf-8")
    build_site([medrules.load(path)], tmp_path / "site", [ROOT / "rulebooks" / "quzhou" / "sources"])
    page = (tmp_path / "site" / "quzhou-employee-2012.html").read_text("utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "15 of 15 quotes located" in page  # the texts came from --sources


def test_a_quote_is_found_across_widths_spaces_and_ellipses(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("第一条 参保人员（含退休人员）\n住院起付标准为 600 元；其余部分，\n统筹基金支付 84%。", encoding="utf-8")
    t = PolicyText.of(path)
    start, end = t.find("参保人员(含退休人员)住院起付标准为600元;")
    assert t.text[start:end] == "参保人员（含退休人员）\n住院起付标准为 600 元；"
    start, end = t.find("住院起付标准…统筹基金支付84%")
    assert t.text[start:end] == "住院起付标准为 600 元；其余部分，\n统筹基金支付 84%"
    assert t.find("统筹基金支付90%") is None
