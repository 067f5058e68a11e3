"""A CSV file's rows, each value read checked: a number in its column's range (`errors.Range`), or
text; whatever is wrong is one JazzFlaxError naming the file, the line and the column.

`read_rows(path, columns)` reads the columns named (the others are ignored) into dicts of ints,
floats and strings, each with its `LINE` (1 is the header's), so that a later check can name it
(`at(path, row)`). A number written `65.0` is the whole number 65; `65.5`, `nan` or `inf` where a
whole number goes is refused. A file that is not UTF-8 text, or lacks a column, is refused whole.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from jazz_flax.errors import JazzFlaxError, Range

LINE = "line"  # the key of each row's line number in the file
TEXT = None  # a column of text, read as it is (stripped)
WHOLE = Range(-(2**31), 2**31 - 1, integer=True, high_open=False, note="(a whole number)")
COUNT = Range(1, integer=True, note="(a whole number)")  # 1, 2, 3 …


def read_rows(path: Path, columns: Mapping[str, Range | None], hint: str = "") -> list[dict]:
    """The rows of the CSV `path`, the `columns` named read and checked (TEXT: as text)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            _check_header(path, reader.fieldnames or [], columns, hint)
            return [_row(path, reader.line_num, raw, columns) for raw in reader]
    except OSError as e:
        raise JazzFlaxError(f"cannot read {path}: {e.strerror}", hint=hint or None) from None
    except UnicodeDecodeError as e:
        byte = e.object[e.start]
        raise JazzFlaxError(
            f"{path} is not UTF-8 text (byte 0x{byte:02x} at offset {e.start})", hint=hint or None
        ) from None
    except csv.Error as e:
        raise JazzFlaxError(f"{path} is not a CSV file ({e})", hint=hint or None) from None


def at(path: Path, row: Mapping) -> str:
    """Where `row` of `path` is, for a message: `PATH line N`."""
    return f"{path} line {row[LINE]}"


def _check_header(path: Path, header: list[str], columns: Mapping, hint: str) -> None:
    missing = [name for name in columns if name not in header]
    if missing:
        raise JazzFlaxError(
            f"{path} lacks the column {missing[0]!r}",
            hint=f"its header must name {', '.join(columns)}" + (f"; {hint}" if hint else ""),
        )


def _row(path: Path, line: int, raw: Mapping, columns: Mapping[str, Range | None]) -> dict:
    row = {LINE: line}
    for name, allowed in columns.items():
        row[name] = _value(f"{path} line {line}: {name}", raw[name], allowed)
    return row


def _value(where: str, text: str | None, allowed: Range | None):
    """`text` as the column's value: stripped text, or a number in `allowed`."""
    text = (text or "").strip()
    if allowed is TEXT:
        return text
    try:
        number = float(text)
    except ValueError:
        raise JazzFlaxError(f"{where} must be a number, got {text!r}") from None
    if number not in allowed:
        raise JazzFlaxError(f"{where} must be {allowed}, got {text}")
    return int(number) if allowed.integer else number
