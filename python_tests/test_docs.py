"""The documentation says what the project does:

- the README's Variables table shows the defaults `dbt_project.yml` sets (the one home of each
  default), and every var is documented;
- the README's `sbdk` usage block and options table show only options the command accepts (for
  the subcommand they are shown for), every option it accepts is in the table, and every example
  value shown parses with that option's `type` (and is one of its `choices`);
- every relative link of README.md, CONTRIBUTING.md and docs/*.md points to an existing file
  (and, with a `#fragment`, to a heading of it).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from sbdk.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A value in the usage block written in capitals is a placeholder (N, PATH, DATE), not an example.
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*")


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, start + len(heading))
    return text[start:end.start() if end else len(text)]


def _readme_vars() -> dict[str, str]:
    """var -> default as the README's Variables table shows it ('a / b' rows split)."""
    text = README.read_text()
    table = text[text.index("### Variables"):].split("\n\n")[1]
    documented: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`(\w+)`", cells[0])
        defaults = [d.strip().strip("`") for d in cells[1].split(" / ")]
        documented.update(zip(names, defaults if len(defaults) == len(names) else [cells[1]] * len(names),
                              strict=True))
    return documented


def test_readme_shows_the_defaults_of_dbt_project_yml() -> None:
    project_vars = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
    documented = _readme_vars()
    missing = sorted(set(project_vars) - set(documented))
    assert not missing, f"vars of dbt_project.yml not in the README: {missing}"
    numeric = {name: value for name, value in project_vars.items() if isinstance(value, int | float)}
    assert len(numeric) >= 9, f"the thresholds of the contract should be vars: {numeric}"
    wrong = {name: (documented[name], value) for name, value in numeric.items() if documented[name] != str(value)}
    assert not wrong, f"README default != dbt_project.yml (README, dbt_project.yml): {wrong}"


# --- the sbdk command ---------------------------------------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1, "sbdk should have one set of subcommands"
    return dict(actions[0].choices)


def _command_section() -> str:
    return _section(README.read_text(), "## The `sbdk` command")


def _usage_block() -> dict[str, list[tuple[str, str | None]]]:
    """subcommand -> the (option, example value or None) pairs its usage lines show."""
    block = re.search(r"```bash\n(.*?)```", _command_section(), re.DOTALL)
    assert block, "the README's `sbdk` section has no usage block"
    shown: dict[str, list[tuple[str, str | None]]] = {}
    for command in block.group(1).replace("\\\n", " ").splitlines():
        tokens = command.replace("[", " ").replace("]", " ").split()
        if not tokens:
            continue
        assert tokens[0] == "sbdk" and len(tokens) > 1, f"not a usage line: {command!r}"
        pairs = shown.setdefault(tokens[1], [])
        for i, token in enumerate(tokens[2:], start=2):
            if not token.startswith("--"):
                continue
            value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else None
            if value is None or PLACEHOLDER.fullmatch(value):
                pairs.append((token, None))
            else:
                pairs += [(token, alternative) for alternative in value.split("|")]
    return shown


def _options_table() -> list[tuple[list[str], list[str], list[str], list[str]]]:
    """Rows of the README's options table: (options of the first cell, subcommands the row is for
    (none: every one), options named in the meaning, example values of the row's option)."""
    section = _command_section()
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert table and table[0].startswith("| option |"), "the README's `sbdk` section has no options table"
    rows = []
    for line in table[2:]:
        option_cell, meaning = (c.strip() for c in line.strip().strip("|").split("|", 1))
        options = re.findall(r"`(--[a-z][\w-]*)", option_cell)
        assert options, f"no option in the first cell of {line!r}"
        subcommands = re.findall(r"^\(`(\w+)`\)", meaning)
        spans = re.findall(r"`([^`]+)`", meaning)
        named = [s.split()[0] for s in spans if s.startswith("--")]
        examples = [s.split(maxsplit=1)[1] for s in spans if s.startswith(options[0] + " ")]
        # "e.g. `3GB`, `50%` or `none`": the code spans of the phrase after "e.g." are examples
        for phrase in re.findall(r"e\.g\. ([^;()]*)", meaning):
            examples += [s for s in re.findall(r"`([^`]+)`", phrase) if not s.startswith("--")]
        rows.append((options, subcommands, named, examples))
    return rows


def _action(parser: argparse.ArgumentParser, option: str) -> argparse.Action | None:
    return parser._option_string_actions.get(option)


def _refusal(action: argparse.Action, value: str) -> str | None:
    """Why ``value`` does not parse for ``action`` (None: it does)."""
    if action.nargs == 0:
        return f"{action.option_strings[0]} takes no value"
    try:
        parsed = action.type(value) if action.type else value
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        return f"refused by its type: {exc}"
    if action.choices is not None and parsed not in action.choices:
        return f"not one of {list(action.choices)}"
    return None


def test_readme_usage_block_shows_only_options_the_command_accepts() -> None:
    parsers = _subparsers()
    shown = _usage_block()
    assert set(shown) == set(parsers), f"usage lines for {sorted(shown)}, subcommands {sorted(parsers)}"
    problems = []
    for command, pairs in shown.items():
        for option, value in pairs:
            action = _action(parsers[command], option)
            if action is None:
                problems.append(f"sbdk {command} does not accept {option}")
            elif value is not None and (why := _refusal(action, value)):
                problems.append(f"sbdk {command} {option} {value}: {why}")
    assert not problems, "README usage block vs the CLI:\n" + "\n".join(problems)


def test_readme_options_table_matches_the_command() -> None:
    parsers = _subparsers()
    rows = _options_table()
    problems, documented, checked_examples = [], set(), 0
    for options, subcommands, named, examples in rows:
        unknown = [c for c in subcommands if c not in parsers]
        problems += [f"{options[0]}: no subcommand {c!r}" for c in unknown]
        targets = [parsers[c] for c in (subcommands or parsers) if c in parsers]
        for option in options:
            documented.add(option)
            problems += [f"sbdk {p.prog.split()[-1]} does not accept {option}"
                         for p in targets if _action(p, option) is None]
        # an option named in the meaning (an alias, the default of another) exists for the row
        for option in named:
            if not any(_action(p, option) for p in parsers.values()):
                problems.append(f"{options[0]}: the meaning names {option}, which no subcommand accepts")
        for value in examples:
            for p in targets:
                action = _action(p, options[0])
                if action is not None and (why := _refusal(action, value)):
                    problems.append(f"sbdk {p.prog.split()[-1]} {options[0]} {value}: {why}")
            checked_examples += 1
    undocumented = sorted({option for p in parsers.values() for a in p._actions
                           if not isinstance(a, argparse._HelpAction) for option in a.option_strings
                           if option.startswith("--")} - documented
                          - {n for row in rows for n in row[2]})
    problems += [f"{option} is accepted but not in the README's options table" for option in undocumented]
    assert not problems, "README options table vs the CLI:\n" + "\n".join(problems)
    assert checked_examples >= 3, "the options table should show example values (e.g. `3GB`, `50%`, `none`)"


@pytest.mark.parametrize("value", ["none", "NONE", "3GB", "50%"])
def test_the_documented_memory_limits_parse(value: str) -> None:
    """`--memory-limit none` means no limit; DuckDB reads only the lower-case word."""
    args = build_parser().parse_args(["run", "--memory-limit", value])
    assert args.memory_limit == ("none" if value.lower() == "none" else value)


# --- links --------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return [m.group(1) for m in LINK.finditer(text)]


def test_relative_links_point_to_existing_files() -> None:
    assert all(p.is_file() for p in DOCS[:2]), "README.md and CONTRIBUTING.md should exist"
    broken, relative = [], 0
    for doc in DOCS:
        for link in _links(doc):
            if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...
                continue
            relative += 1
            target, _, fragment = link.partition("#")
            path = (doc.parent / target).resolve() if target else doc
            name = f"{doc.relative_to(ROOT)}: {link}"
            if not path.exists():
                broken.append(f"{name} (no such file)")
            elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
                broken.append(f"{name} (no heading #{fragment} in {path.name})")
    assert relative, "no relative link found: the link check would prove nothing"
    assert not broken, "broken links:\n" + "\n".join(broken)
