"""`stemme analyze`, `stemme redact` and `stemme triage train` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stemme.cli import app
from stemme.understanding import triage
from tests.understanding.conftest import FakePrivacy

GOOD = [
    {"id": "a1", "text": "Han står utenfor døra mi med kniv!", "channel": "sms"},
    {"id": 2, "text": "Hvordan fornyer jeg passet? Ring Ola på 917 45 302", "lang": "ignored"},
    {"id": "a3", "text": "Tips: det selges hasj på Grünerløkka", "channel_district": "Vest"},
    {"id": "a4", "text": "Hei", "channel_district": "Agder"},
]
BAD = [
    "{not json",
    json.dumps({"text": "no id"}),
    json.dumps({"id": "x"}),
    '{"id": 1, "text": 5}',
    json.dumps({"id": 2, "text": "Hei", "channel_district": "Narnia"}),
]

runner = CliRunner()


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def test_analyze_file_to_file(fake_privacy: FakePrivacy, tmp_path: Path) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(_jsonl(GOOD), encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["id"] for row in rows] == ["a1", "2", "a3", "a4"]
    for row in rows:
        assert set(row) == {"id", "entities", "category", "urgent", "lang", "district", "redacted"}
    assert rows[0]["category"] == "emergency"
    assert rows[0]["urgent"] is True
    assert rows[1]["entities"][0] == {"start": 33, "end": 36, "type": "PERSON", "score": 0.8}
    assert rows[1]["redacted"] == "Hvordan fornyer jeg passet? Ring <PERSON> på <PHONE>"
    assert rows[2]["district"] == "Oslo"  # the place in the text beats the channel
    assert rows[3]["district"] == "Agder"  # the channel's district only when the line has one
    assert "Grünerløkka" in lines[2]  # ensure_ascii=False


def test_analyze_stdin_to_stdout_without_channel_fallback(fake_privacy: FakePrivacy) -> None:
    result = runner.invoke(app, ["analyze", "--no-model"], input=_jsonl([{"id": 1, "text": "Hei"}]))
    assert result.exit_code == 0
    row = json.loads(result.stdout)
    assert row["district"] is None
    assert row["category"] == "other"


def test_redact_prints_only_redacted_text(fake_privacy: FakePrivacy, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(_jsonl([{"id": 1, "text": "Ring Ola\npå 917 45 302"}]), encoding="utf-8")
    result = runner.invoke(app, ["redact", "--input", str(source)])
    assert result.exit_code == 0
    assert result.stdout == "Ring <PERSON> på <PHONE>\n"
    target = tmp_path / "out.txt"
    result = runner.invoke(app, ["redact", "--output", str(target)], input=source.read_text())
    assert target.read_text(encoding="utf-8") == "Ring <PERSON> på <PHONE>\n"


@pytest.mark.parametrize("command", ["analyze", "redact"])
def test_bad_lines_are_reported_and_skipped(fake_privacy: FakePrivacy, command: str) -> None:
    lines = [_jsonl(GOOD[:1]).strip(), *BAD, "", _jsonl(GOOD[1:2]).strip()]
    result = runner.invoke(app, [command], input="\n".join(lines) + "\n")
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 2
    assert "linje 2: ugyldig JSON" in result.stderr
    assert "linje 3: mangler «id»" in result.stderr
    assert "linje 4: mangler «text»" in result.stderr
    assert "linje 5: «text» er ikke en tekststreng" in result.stderr
    assert "linje 6: ukjent «channel_district»: Narnia" in result.stderr
    assert "5 linje(r) ble hoppet over" in result.stderr


def test_strict_stops_at_the_first_bad_line(fake_privacy: FakePrivacy) -> None:
    lines = [_jsonl(GOOD[:1]).strip(), "[1, 2]", _jsonl(GOOD[1:2]).strip()]
    result = runner.invoke(app, ["analyze", "--strict"], input="\n".join(lines))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert "linje 2: ikke et JSON-objekt" in result.stderr


def test_triage_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = triage.shipped_examples()[::5]
    monkeypatch.setattr(triage, "shipped_examples", lambda: list(small))
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        _jsonl([{"text": "Hvor henter jeg beslaglagte ting?", "category": "question"}]),
        encoding="utf-8",
    )
    target = tmp_path / "model.joblib"
    try:
        result = runner.invoke(
            app, ["triage", "train", "--labels", str(labels), "--output", str(target)]
        )
    finally:
        triage.model.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"Trente på {len(small) + 1} eksempler (1 rettelser)" in result.stdout
    assert "Kryssvalidert makro-F1: 0." in result.stdout
    assert target.is_file()


def test_triage_train_bad_labels(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"text": "x", "category": "nope"}\n', encoding="utf-8")
    result = runner.invoke(app, ["triage", "train", "--labels", str(labels)])
    assert result.exit_code == 1
    assert "ukjent kategori nope" in result.stderr


def test_a_file_is_analysed_in_batches_with_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stemme.understanding import cli

    source = tmp_path / "in.jsonl"
    source.write_text(_jsonl(GOOD) + BAD[0] + "\n" + _jsonl(GOOD), encoding="utf-8")
    one_by_one = runner.invoke(app, ["analyze"], input=source.read_text(encoding="utf-8"))
    monkeypatch.setattr(cli, "BATCH_SIZE", 3)
    batched = runner.invoke(app, ["analyze", "--input", str(source)])
    assert batched.exit_code == one_by_one.exit_code == 2
    assert batched.stdout == one_by_one.stdout
    assert len(batched.stdout.splitlines()) == 2 * len(GOOD)
    assert "linje 5: ugyldig JSON" in batched.stderr


def test_strict_writes_the_good_lines_before_the_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stemme.understanding import cli

    monkeypatch.setattr(cli, "BATCH_SIZE", 3)
    source = tmp_path / "in.jsonl"
    source.write_text(_jsonl(GOOD[:2]) + "[1]\n" + _jsonl(GOOD[2:]), encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--strict", "--no-model", "--input", str(source)])
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a1", "2"]


def test_batches_from_a_file_one_line_at_a_time_from_a_pipe(tmp_path: Path) -> None:
    import os
    import sys

    from stemme.understanding import cli

    source = tmp_path / "in.jsonl"
    source.write_text("", encoding="utf-8")
    assert cli._batch_size(source) == cli.BATCH_SIZE
    read, write = os.pipe()
    for descriptor, expected in ((read, 1), (os.open(source, os.O_RDONLY), cli.BATCH_SIZE)):
        with os.fdopen(descriptor) as stdin, pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdin", stdin)
            assert cli._batch_size(None) == expected
    os.close(write)
