"""PII detection on the annotated dev set: write predictions, score them, measure speed.

    python benchmarks/pii_dev_score.py [GOLD.jsonl] [--out PRED.jsonl] [--errors N]

Runs stemme.privacy.detect() + redact() on every message, writes predictions in the
scorer's format (triage fields left empty: they belong to stemme.understanding), runs
/work/shared/eval/score.py on them and prints detect() throughput on one core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stemme.privacy import detect, redact

EVAL = Path("/work/shared/eval")


def predict(gold: Path, out: Path) -> list[str]:
    """Write one prediction per gold message; return the message texts."""
    texts: list[str] = []
    with gold.open(encoding="utf-8") as source, out.open("w", encoding="utf-8") as sink:
        for line in source:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["text"]
            texts.append(text)
            spans = detect(text)
            entities = [
                {"start": s.start, "end": s.end, "type": s.type, "score": round(s.score, 3)}
                for s in spans
            ]
            prediction = {
                "id": row["id"],
                "entities": entities,
                "redacted": redact(text, spans),
                "category": None,
                "urgent": False,
                "lang": None,
                "district": None,
            }
            sink.write(json.dumps(prediction, ensure_ascii=False) + "\n")
    return texts


def throughput(texts: list[str], seconds: float = 3.0) -> tuple[float, float, float]:
    """detect() messages per second (wall clock, and per CPU second) and mean text length.

    The CPU-time figure is the one-core rate even when other processes share the machine.
    """
    detect(texts[0])  # load the name lists outside the timing
    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for text in texts:
            detect(text)
        count += len(texts)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return count / elapsed, count / cpu, sum(map(len, texts)) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("gold", nargs="?", type=Path, default=EVAL / "messages-dev.jsonl")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "pii_dev_predictions.jsonl"
    )
    parser.add_argument("--errors", type=int, default=40)
    args = parser.parse_args()
    texts = predict(args.gold, args.out)
    result = subprocess.run(
        [
            sys.executable,
            str(EVAL / "score.py"),
            str(args.gold),
            str(args.out),
            "--errors",
            "1000000",  # all of them: PII errors are picked out below
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.splitlines()
    figures = [line for line in lines if line.startswith(("pii.", "messages"))]
    errors = [line for line in lines if " missed: " in line or " over-redacted: " in line]
    print("\n".join(figures))
    print("\n".join(errors[: args.errors]) or "no PII errors")
    rate, cpu_rate, mean_length = throughput(texts)
    print(
        f"detect(): {rate:,.0f} messages/s wall clock, {cpu_rate:,.0f} messages per CPU second "
        f"(one core, mean length {mean_length:.0f} chars)"
    )


if __name__ == "__main__":
    main()
