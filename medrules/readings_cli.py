"""``medrules readings FOLDER FACTS…``: the money at stake per reading over a folder of policy years (the command's
body; cli.py only wires it). Each claim is settled under the year in force on its date, with that year's readings."""
from __future__ import annotations

import json
from pathlib import Path


def readings_over_folder(session, folder: Path, facts: list[Path], pins: list[str] | None, top: int, as_json: bool,
                         lang: str):
    """The report: a JSON document as text (``as_json``), else a rich renderable (cli.py prints either)."""
    from medrules.analyses.readings import money_at_stake_by_year
    from medrules.diagnostics import MedrulesError, error
    from medrules.explain.json import stake_by_year_json
    from medrules.explain.text import render_stake_by_year
    from medrules.readings import parse_choice
    pinned = dict(parse_choice(text) for text in pins or [])
    rs = session.versions(folder)
    stake = money_at_stake_by_year(lambda program, choice: session.program(Path(program.checked.file), choice), rs,
                                   [session.read(p, "facts") for p in facts], pinned, lang, top)
    if not stake.readings:
        raise MedrulesError(error("reading", f"no rulebook in {folder} declares a reading",
                                  hint="declare one with 'reading NAME \"…\" { ALT … ALT … } chosen ALT'"))
    if as_json:
        return json.dumps(stake_by_year_json(stake, top), ensure_ascii=False, indent=2)
    return render_stake_by_year(stake, lang, top)
