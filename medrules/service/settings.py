"""The service's settings: ``settings.toml`` in the instance folder (optional).

::

    body_limit = 1048576                 # bytes; larger requests get 413
    rulebooks = "rulebooks"              # folder of *.mr files
    ledger = "postgresql://medrules@localhost/medrules"   # default: INSTANCE/ledger.sqlite
    secure_cookies = true                # behind HTTPS: session cookies only over HTTPS

    [office.default]                     # used when nothing more specific is set
    name = { zh = "…医疗保障局", en = "… Healthcare Security Bureau" }
    address = { zh = "…", en = "…" }
    phone = "0570-1234567"
    hours = { zh = "工作日 8:30–17:00", en = "weekdays 8:30–17:00" }
    appeal = { zh = "如对本结算有异议,可自收到之日起60日内…", en = "If you disagree …" }

    [office."quzhou/employee-2012"]      # a rulebook key, or the rulebook's scheme or jurisdiction

A letter's office is looked up by rulebook key, then the rulebook's jurisdiction, then
its scheme, then ``default``; keys missing there are taken from ``default``.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.source import Span

OFFICE_FIELDS = ("name", "address", "phone", "hours", "appeal")

DEFAULT_OFFICE = {
    "name": {"zh": "医疗保障经办机构", "en": "Medical insurance agency"},
    "appeal": {"zh": "如对本结算结果有异议,请携带本通知书向经办机构咨询或申请复核。",
               "en": "If you disagree with this decision, bring this letter to the agency to ask or to "
                     "request a review."},
}


@attrs.frozen
class Settings:
    instance: Path
    body_limit: int = 1 << 20
    rulebooks: Path = Path("rulebooks")
    ledger: str | None = None  # a ledger URL; default INSTANCE/ledger.sqlite
    secure_cookies: bool = False  # behind HTTPS: the session cookie is sent over HTTPS only
    offices: dict = attrs.field(factory=dict)

    def office(self, key: str, header, lang: str) -> dict[str, str]:
        chain = [self.offices.get(key), self.offices.get(header.jurisdiction or ""),
                 self.offices.get(header.scheme or ""), self.offices.get("default"), DEFAULT_OFFICE]
        out = {}
        for field in OFFICE_FIELDS:
            for office in chain:
                if office and field in office:
                    value = office[field]
                    out[field] = value.get(lang) or value.get("zh") or "" if isinstance(value, dict) else str(value)
                    break
        return out


def load_settings(instance: Path, rulebooks: Path | None = None) -> Settings:
    path = instance / "settings.toml"
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            text = str(exc)
            at = re.search(r"\(at line (\d+), column (\d+)\)", text)
            message = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", text)
            raise MedrulesError(error("settings", f"the settings file is not valid TOML: {message}",
                                      Span(str(path), int(at[1]), int(at[2])) if at else None,
                                      "see docs/service.md for the settings file")) from None
    offices = data.get("office", {})
    if not isinstance(offices, dict) or not all(isinstance(v, dict) for v in offices.values()):
        raise MedrulesError(error("settings", f"{path}: [office.NAME] tables expected",
                                  hint="see docs/service.md for the settings file"))
    for name, office in offices.items():
        for field in office:
            if field not in OFFICE_FIELDS:
                raise MedrulesError(error("settings", f"{path}: office '{name}' has an unknown field '{field}'",
                                          hint="fields: " + ", ".join(OFFICE_FIELDS)))
    limit = data.get("body_limit", 1 << 20)
    if not isinstance(limit, int) or limit <= 0:
        raise MedrulesError(error("settings", f"{path}: body_limit must be a positive number of bytes"))
    folder = rulebooks or Path(data.get("rulebooks", "rulebooks"))
    ledger = data.get("ledger")
    if ledger is not None and not isinstance(ledger, str):
        raise MedrulesError(error("settings", f"{path}: ledger must be a URL (sqlite:///… or postgresql://…)"))
    secure = data.get("secure_cookies", False)
    if not isinstance(secure, bool):
        raise MedrulesError(error("settings", f"{path}: secure_cookies must be true or false"))
    return Settings(instance, limit, folder, ledger, secure, offices)
