"""The targets of issue 5 on the dev set and on every held-out set, side by side.

    python benchmarks/heldout_scores.py [--gold-dir DIR] [--sets dev,heldout6]

Runs the full pipeline (``analyze_many``, as ``stemme analyze`` does) on each annotated set,
scores it with the evaluation's own scorer (``score.py`` next to the dev set) and prints one
column per set. ``benchmarks/data/README.md`` says which held-out sets have been read (and
are dev sets since) and which one is still unseen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from understanding_vs_presidio import load_scorer  # the benchmark's own: one way to load it

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "messages-dev.jsonl"
HELD_OUT = ROOT / "benchmarks" / "data"
ROWS = [
    ("pii.recall", "≥ 0.97"),
    ("pii.recall.PERSON", "≥ 0.90"),
    ("pii.recall.PHONE", "≥ 0.995"),
    ("pii.precision", "≥ 0.90"),
    ("pii.leaked_rate", "≤ 0.02"),
    ("triage.urgent_recall", "≥ 0.97"),
    ("triage.urgent_precision", "≥ 0.70"),
    ("triage.macro_f1", "≥ 0.80"),
    ("lang.accuracy", "≥ 0.95"),
    ("district.accuracy", "≥ 0.90"),
]


def scores(scorer: ModuleType, gold_path: Path) -> dict[str, float]:
    from stemme.understanding import analyze_many
    from stemme.understanding.cli import prediction

    gold = {row["id"]: row for row in map(json.loads, gold_path.read_text().splitlines()) if row}
    found = analyze_many([row["text"] for row in gold.values()])
    predictions: dict[str, Any] = {
        item_id: prediction(item_id, analysis)
        for item_id, analysis in zip(gold, found, strict=True)
    }
    metrics, _ = scorer.score(gold, predictions)
    return {name: float(metrics[name]) for name, _ in ROWS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--gold-dir", type=Path, default=HELD_OUT)
    parser.add_argument("--sets", help="comma-separated names (dev, heldout, heldout2, …)")
    args = parser.parse_args()
    sets = {"dev": args.dev} | {p.stem: p for p in sorted(args.gold_dir.glob("heldout*.jsonl"))}
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    scorer = load_scorer(args.dev)  # the scorer next to the dev set
    table = {name: scores(scorer, path) for name, path in sets.items()}
    print(f"{'':26}{'target':>8}" + "".join(f"{name:>10}" for name in table))
    for metric, target in ROWS:
        cells = "".join(f"{table[name][metric]:>10.3f}" for name in table)
        print(f"{metric:26}{target:>8}{cells}")


if __name__ == "__main__":
    main()
