"""The work behind ``stemme analyze``, ``stemme redact`` and ``stemme triage train``.

Input is JSON Lines with at least ``{"id", "text"}``; other fields are ignored except
``channel`` and ``channel_district`` (the fallback district of the channel). Output is one
line per good input line, in the order read.

Bad lines (invalid JSON, no ``id``, ``text`` missing or not a string, an unknown
``channel_district``) are reported on stderr
as ``stemme: linje N: …`` and skipped; the other lines are still processed and the command
ends with **exit code 2** so that a script notices the gap. With ``--strict`` the first bad
line ends the command at once with exit code 1. Blank lines are ignored.

Lines read from a file are analysed in batches (``analyze_many``, faster in bulk); lines
from a pipe or a terminal one at a time, each answer written as soon as it is ready.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import typer

from stemme.geo.service import UnknownDistrictError, normalise_district
from stemme.understanding.pipeline import Analysis, AnalysisContext, analyze_many, redact_text

EXIT_PARTIAL = 2
EXIT_STRICT = 1


@dataclass(frozen=True, slots=True)
class InputLine:
    """One good input line."""

    number: int
    id: str
    text: str
    context: AnalysisContext


class BadLineError(Exception):
    """A line that cannot be analysed."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"linje {number}: {reason}")
        self.number = number


def parse_line(number: int, line: str, use_model: bool = True) -> InputLine:
    """A good input line, or BadLineError naming the line and the problem."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLineError(number, f"ugyldig JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise BadLineError(number, "ikke et JSON-objekt")
    if "id" not in row or row["id"] is None:
        raise BadLineError(number, "mangler «id»")
    if "text" not in row:
        raise BadLineError(number, "mangler «text»")
    if not isinstance(row["text"], str):
        raise BadLineError(number, "«text» er ikke en tekststreng")
    channel_district = row.get("channel_district")
    if channel_district is not None:
        try:
            channel_district = normalise_district(str(channel_district))
        except UnknownDistrictError:
            raise BadLineError(number, f"ukjent «channel_district»: {channel_district}") from None
    channel = row.get("channel")
    context = AnalysisContext(
        channel=channel if isinstance(channel, str) else None,
        channel_district=channel_district if isinstance(channel_district, str) else None,
        use_model=use_model,
    )
    return InputLine(number, str(row["id"]), row["text"], context)


def prediction(item_id: str, analysis: Analysis) -> dict[str, Any]:
    """One line of the prediction format (shared/eval/README.md)."""
    return {
        "id": item_id,
        "entities": [
            {"start": s.start, "end": s.end, "type": s.type, "score": round(s.score, 4)}
            for s in analysis.entities
        ],
        "category": analysis.category,
        "urgent": analysis.urgent,
        "lang": analysis.lang,
        "district": analysis.district,
        "redacted": analysis.redacted,
    }


@contextmanager
def _open_in(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdin
    else:
        with path.open(encoding="utf-8") as handle:
            yield handle


@contextmanager
def _open_out(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
    else:
        with path.open("w", encoding="utf-8") as handle:
            yield handle


BATCH_SIZE = 256
"""Lines analysed together when the input is a file (see ``analyze_many``)."""


def _batch_size(source: Path | None) -> int:
    """Whole batches from a file; line by line from a pipe or a terminal, whose writer may
    wait for each answer before it sends the next line."""
    if source is not None:
        return BATCH_SIZE
    try:
        return BATCH_SIZE if stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode) else 1
    except (OSError, ValueError):  # no real file descriptor (a test's stand-in stdin)
        return 1


def _run(
    source: Path | None,
    target: Path | None,
    strict: bool,
    use_model: bool,
    render: Callable[[list[InputLine]], list[str]],
) -> int:
    failed = 0
    batch: list[InputLine] = []
    size = _batch_size(source)
    with _open_in(source) as lines, _open_out(target) as out:

        def flush() -> None:
            if batch:
                out.writelines(line + "\n" for line in render(batch))
                batch.clear()
                if target is None:
                    out.flush()  # a pipe reader sees each line as soon as it is done

        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                batch.append(parse_line(number, line, use_model))
            except BadLineError as exc:
                typer.echo(f"stemme: {exc}", err=True)
                if strict:
                    flush()
                    return EXIT_STRICT
                failed += 1
                continue
            if len(batch) >= size:
                flush()
        flush()
    if failed:
        typer.echo(f"stemme: {failed} linje(r) ble hoppet over", err=True)
        return EXIT_PARTIAL
    return 0


def run_analyze(
    source: Path | None, target: Path | None, strict: bool = False, use_model: bool = True
) -> int:
    """``stemme analyze``: one prediction line per input line; returns the exit code."""

    def render(items: list[InputLine]) -> list[str]:
        analyses = analyze_many([item.text for item in items], [item.context for item in items])
        return [
            json.dumps(prediction(item.id, analysis), ensure_ascii=False)
            for item, analysis in zip(items, analyses, strict=True)
        ]

    return _run(source, target, strict, use_model, render)


def run_redact(source: Path | None, target: Path | None, strict: bool = False) -> int:
    """``stemme redact``: the redacted text of each input line, line breaks as spaces."""
    return _run(
        source,
        target,
        strict,
        False,
        lambda items: [_one_line(redact_text(item.text)) for item in items],
    )


def _one_line(text: str) -> str:
    """The text on one output line: line breaks become spaces."""
    return " ".join(text.splitlines())


def run_train(labels: Path | None, output: Path | None, folds: int = 5) -> str:
    """``stemme triage train``: retrain, save, and describe the result (CV macro-F1)."""
    from stemme.understanding import triage

    examples = triage.shipped_examples()
    corrections = triage.load_examples(labels) if labels else []
    examples.extend(corrections)
    score = triage.cross_validated_macro_f1(examples, folds)
    target = output or triage.default_model_path()
    triage.save_model(triage.train(examples), target)
    triage.model.cache_clear()
    return (
        f"Trente på {len(examples)} eksempler ({len(corrections)} rettelser). "
        f"Kryssvalidert makro-F1: {score:.3f}. Modellen er lagret i {target}."
    )
