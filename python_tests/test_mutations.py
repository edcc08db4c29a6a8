"""The mutation run (benchmarks/mutate.py) keeps measuring something: every mutation's text
still occurs exactly once in its file, and every model has mutations. (The run itself takes
tens of minutes and is not part of the suite.)"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _mutate_module():
    spec = importlib.util.spec_from_file_location("sbdk_mutate", ROOT / "benchmarks" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_every_mutation_applies_to_the_current_sql() -> None:
    mutate = _mutate_module()
    assert mutate.inapplicable(mutate.MUTATIONS, ROOT) == []


def test_a_mutation_whose_text_is_gone_is_reported(tmp_path: Path) -> None:
    mutate = _mutate_module()
    (tmp_path / "m.sql").write_text("select 1 as a, 1 as a")
    gone = mutate.Mutation("gone", "m.sql", "select 2", "select 3", "bug")
    twice = mutate.Mutation("twice", "m.sql", "1 as a", "2 as a", "bug")
    missing = mutate.Mutation("missing", "nowhere.sql", "x", "y", "bug")
    assert mutate.inapplicable([gone, twice, missing], tmp_path) == [
        "gone: the text to replace occurs 0 times in m.sql",
        "twice: the text to replace occurs 2 times in m.sql",
        "missing: the text to replace occurs 0 times in nowhere.sql",
    ]


def test_every_model_has_mutations() -> None:
    mutate = _mutate_module()
    models = {p.relative_to(ROOT).as_posix() for p in (ROOT / "models").rglob("*.sql")}
    assert models, "no model found"
    assert sorted(models - {m.file for m in mutate.MUTATIONS}) == []
