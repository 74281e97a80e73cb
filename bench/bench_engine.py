"""Engine speed on the 8-credit example: OLX read/write, drawing a form, scoring, and the review.

Prints medians over repeated runs (this machine is shared and noisy; compare ratios, not
absolute figures). Usage: .venv/bin/python bench/bench_engine.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ce_xblock.core import attempts, olx

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trauma-informed-care.xml"


def measure(fn, repeat: int, inner: int) -> float:
    """Median microseconds per call of fn over `repeat` batches of `inner` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    text = EXAMPLE.read_bytes()
    activity = olx.loads(text)
    form = attempts.draw_form(activity, seed="bench", attempt_number=1)
    responses = {item.question_id: [activity.question(item.question_id).choices[0].id] for item in form.items}
    responses = {
        qid: sorted(activity.question(qid).correct_ids) if i % 3 else choice
        for i, (qid, choice) in enumerate(responses.items())
    }
    result = attempts.score(activity, form, responses)

    rows = [
        ("olx.loads (56 items, 8 credits)", measure(lambda: olx.loads(text), args.repeat, 5)),
        ("olx.dumps", measure(lambda: olx.dumps(activity), args.repeat, 5)),
        ("draw_form (25 of 56)", measure(lambda: attempts.draw_form(activity, "s", 2, seen=()), args.repeat, 50)),
        ("present (learner view of a form)", measure(lambda: attempts.present(activity, form), args.repeat, 50)),
        ("score (25 items)", measure(lambda: attempts.score(activity, form, responses), args.repeat, 50)),
    ]
    print(f"CE Credit engine benchmark: {EXAMPLE.name}, median of {args.repeat} runs")
    print(f"  (the scored attempt got {result.percent:.0f}%, passed={result.passed})")
    for name, us in rows:
        print(f"  {name:<36} {us:10.1f} us   ({1e6 / us:,.0f}/s)")


if __name__ == "__main__":
    main()
