"""Prompt sets: many prompts, each with an optional target, contrast and corrupt prompt.

A set is read from a CSV file (a header row naming the columns) or from JSONL (one JSON
object a line), or written as a template whose slots are filled from lists. Whatever is
wrong with a set is refused as a whole, with one sentence naming the rows (SetError):
a half-read set would give averages over prompts the user did not choose.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("prompt", "target", "contrast", "corrupt")
MAX_PROMPTS = 100_000  # a file larger than this is refused: it would not be read in a session
SHOWN_ROWS = 3  # rows named in a refusal


class SetError(ValueError):
    """A prompt set that cannot be used, in one sentence."""


@dataclass(frozen=True)
class PromptRow:
    prompt: str
    target: str | None = None
    contrast: str | None = None
    corrupt: str | None = None
    line: int = 0  # where it came from: the file's line (1-based) or the template's combination (1-based)


@dataclass(frozen=True)
class PromptSet:
    rows: tuple[PromptRow, ...]
    name: str = "prompt set"  # the file's name, or "template"

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_targets(self) -> bool:
        return all(r.target is not None for r in self.rows)

    @property
    def has_pairs(self) -> bool:
        return all(r.corrupt is not None for r in self.rows)

    def to_json(self) -> dict:
        """The set as scenes and exports carry it (JSON, never pickle)."""
        return {"name": self.name, "rows": [{k: getattr(r, k) for k in COLUMNS if getattr(r, k) is not None}
                                           for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "PromptSet":
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise SetError("The prompt set in this file is not a list of rows.")
        return from_records(data["rows"], str(data.get("name") or "prompt set"))


def _row_text(value, column: str, line: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SetError(f"Row {line}: the {column} is not text.")
        if value != value:  # NaN: a DataFrame's empty cell
            return None
        value = str(value)
    return value if value.strip() else None


def _where(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:SHOWN_ROWS])
    more = f" and {len(lines) - SHOWN_ROWS} more" if len(lines) > SHOWN_ROWS else ""
    return f"row{'s' if len(lines) > 1 else ''} {shown}{more}"


def from_records(records, name: str = "prompt set", lines: list[int] | None = None) -> PromptSet:
    """A set from dicts (the API's list, a DataFrame's records, JSONL lines). Plain
    strings are prompts without a target. Rows whose every field is empty are skipped;
    a row with other fields but no prompt is refused. `lines`: each record's line in
    its file (default 1, 2, …), as refusals name them."""
    rows: list[PromptRow] = []
    no_prompt: list[int] = []
    for k, rec in enumerate(records):
        line = lines[k] if lines is not None else k + 1
        if isinstance(rec, str):
            rec = {"prompt": rec}
        if not isinstance(rec, dict):
            raise SetError(f"Row {line} is not a prompt: give text, or a record with a 'prompt' field.")
        if "prompt" not in rec and rows == [] and not no_prompt:
            have = ", ".join(repr(str(c)) for c in rec) or "none"
            raise SetError(f"The {name} has no 'prompt' column (its columns: {have}); the columns are prompt, "
                           "and optionally target, contrast and corrupt.")
        fields = {c: _row_text(rec.get(c), c, line) for c in COLUMNS}
        if all(v is None for v in fields.values()):
            continue
        if fields["prompt"] is None:
            no_prompt.append(line)
            continue
        if fields["contrast"] is not None and fields["target"] is None:
            raise SetError(f"Row {line} has a contrast but no target: the contrast is what the target is compared with.")
        rows.append(PromptRow(line=line, **fields))
    if no_prompt:
        raise SetError(f"The {name} has no prompt in {_where(no_prompt)}: give each row its prompt, or delete the row.")
    if not rows:
        raise SetError(f"The {name} has no prompts.")
    if len(rows) > MAX_PROMPTS:
        raise SetError(f"The {name} has {len(rows):,} prompts; at most {MAX_PROMPTS:,} are read at once: split it.")
    _check_columns_agree(rows, name)
    return PromptSet(tuple(rows), name)


def _check_columns_agree(rows: list[PromptRow], name: str) -> None:
    """Either every row has a target (and a contrast, and a corrupt prompt) or none: a
    mean over the rows that happen to have one would be a mean over another set."""
    for column in ("target", "contrast", "corrupt"):
        missing = [r.line for r in rows if getattr(r, column) is None]
        if missing and len(missing) < len(rows):
            raise SetError(f"The {name} gives a {column} in some rows but not in {_where(missing)}: "
                           f"give every row its {column}, or none.")


def read_prompt_set(path: str | Path) -> PromptSet:
    """A set from a .csv or .jsonl (.json: a list of records) file."""
    p = Path(path)
    name = p.name
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SetError(f"There is no prompt set at {p}.") from None
    except IsADirectoryError:
        raise SetError(f"{p} is a folder, not a prompt set file (.csv or .jsonl).") from None
    except OSError as exc:
        raise SetError(f"{p} cannot be read: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SetError(f"{name} is not UTF-8 text: save it as UTF-8 CSV or JSONL.") from None
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text, name)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SetError(f"{name} is not valid JSON (line {exc.lineno}): {exc.msg}.") from None
        if isinstance(data, dict) and "rows" in data:
            return PromptSet.from_json(data)
        if not isinstance(data, list):
            raise SetError(f"{name} holds no list of prompts.")
        return from_records(data, name)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return _read_csv(text, name, "\t" if suffix == ".tsv" else None)
    raise SetError(f"{name}: a prompt set is a .csv, .tsv or .jsonl file.")


def _read_jsonl(text: str, name: str) -> PromptSet:
    records, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SetError(f"{name} line {n} is not a JSON object: {exc.msg}.") from None
        lines.append(n)
    return from_records(records, name, lines)


def _read_csv(text: str, name: str, delimiter: str | None) -> PromptSet:
    if not text.strip():
        raise SetError(f"{name} is empty.")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        body = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise SetError(f"{name} is not a readable CSV file: {exc}.") from None
    if "prompt" not in header:
        raise SetError(f"{name} has no 'prompt' column (its header: {', '.join(h or '(empty)' for h in header)}); "
                       "the columns are prompt, and optionally target, contrast and corrupt.")
    records, lines = [], []
    for line, row in body:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise SetError(f"{name} line {line} has {len(row)} fields but the header names {len(header)}: "
                           "quote a prompt that contains the delimiter.")
        records.append(dict(zip(header, row)))
        lines.append(line)
    return from_records(records, name, lines)


def as_prompt_set(prompts, name: str = "prompt set") -> PromptSet:
    """A PromptSet from what a user has at hand: a file's path (.csv, .jsonl), a list of
    prompts (strings) or of dicts (prompt, target, contrast, corrupt), a pandas
    DataFrame with those columns, or a PromptSet (SetError when it is none of these)."""
    import os

    if isinstance(prompts, PromptSet):
        return prompts
    if isinstance(prompts, (str, os.PathLike)):
        return read_prompt_set(prompts)
    if hasattr(prompts, "to_dict") and hasattr(prompts, "columns"):  # a DataFrame
        return from_records(prompts.to_dict("records"), name)
    if isinstance(prompts, dict) or not hasattr(prompts, "__iter__"):
        raise SetError("A prompt set is a file, a list of prompts (or of dicts) or a DataFrame; one dict is one row.")
    return from_records(list(prompts), name)


_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_slots(*texts: str | None) -> list[str]:
    """The slots named in the texts, in order of first appearance."""
    seen: list[str] = []
    for t in texts:
        for m in _SLOT.finditer(t or ""):
            if m.group(1) not in seen:
                seen.append(m.group(1))
    return seen


def parse_slot_lists(text: str) -> dict[str, list[str]]:
    """Slot lists as the window's editor takes them, a slot a line:
    `A: John, Mary, Tom`. Values keep their inner spaces; empty values are dropped."""
    slots: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, values = line.partition(":")
        name = name.strip().strip("{}")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SetError(f"Slot line {n} should read 'NAME: value, value, …' (e.g. 'A: John, Mary').")
        slots[name] = [v.strip() for v in values.split(",") if v.strip()]
    return slots


def expand_template(prompt: str, slots: dict[str, list[str]], target: str | None = None,
                    contrast: str | None = None, corrupt: str | None = None, limit: int = 200,
                    seed: int = 0) -> PromptSet:
    """Every filling of the template's slots from their lists, with no value in two
    slots at once (IOI's "{A} … {B}" means two different names); at most `limit`
    prompts, a seeded sample when there are more (the same sample every time). A target
    such as "{B}" becomes " " + the value when the slot follows a space in the prompt
    (the way the tokenizer sees a word), and the text itself otherwise."""
    if not prompt or not prompt.strip():
        raise SetError("The template is empty: write a prompt with slots such as {A}.")
    names = template_slots(prompt, target, contrast, corrupt)
    missing = [n for n in names if not slots.get(n)]
    if missing:
        named = ", ".join("{" + n + "}" for n in missing)
        many = len(missing) > 1
        raise SetError(f"The template's slot{'s' if many else ''} {named} ha{'ve' if many else 's'} no values: "
                       "give a list for each.")
    if limit < 1:
        raise SetError("A template needs a limit of at least one prompt.")
    lists = [slots[n] for n in names]
    if math.prod(len(v) for v in lists) > ENUMERATED:
        combos = _drawn(lists, limit, seed)  # too many to list: draw them
    else:
        combos = [c for c in itertools.product(*lists) if len(set(c)) == len(c)]
        if len(combos) > limit:
            combos = [combos[i] for i in sorted(random.Random(seed).sample(range(len(combos)), limit))]
    if not combos:
        raise SetError("Every filling of the template puts one value in two slots: give the slots more values.")
    rows = []
    for k, combo in enumerate(combos, start=1):
        values = dict(zip(names, combo))
        rows.append(PromptRow(
            _fill(prompt, values), _fill_token(target, prompt, values), _fill_token(contrast, prompt, values),
            _fill(corrupt, values) if corrupt else None, k))
    return PromptSet(tuple(rows), "template")


ENUMERATED = 200_000  # fillings listed in full; more are drawn at random


def _drawn(lists: list[list[str]], limit: int, seed: int) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    seen: set = set()
    for _ in range(limit * 50):
        c = tuple(rng.choice(v) for v in lists)
        if len(set(c)) == len(c):
            seen.add(c)
            if len(seen) == limit:
                break
    return sorted(seen)


def _fill(text: str, values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: values[m.group(1)], text)


def _fill_token(text: str | None, prompt: str, values: dict[str, str]) -> str | None:
    """A target written as a lone slot takes the space the slot has in the prompt."""
    if not text or not text.strip():
        return None
    m = _SLOT.fullmatch(text.strip())
    if m is not None and text == text.strip():
        pos = prompt.find("{" + m.group(1) + "}")
        if pos > 0 and prompt[pos - 1] == " ":
            return " " + values[m.group(1)]
    return _fill(text, values)
