"""Fuzzing (issue 7, part 4): `make fuzz`.

1. The property tests of the core's own parsers (src/fuzz_tests.rs: int/float/bool coercion,
   query strings, cookies, X-Forwarded-*, forwarded_allow_ips, hosts, route patterns, routing,
   the upgrade check) with --cases random inputs each (proptest; `make test` runs 256).
2. The hypothesis suites that compare with FastAPI 0.141.1: parameter coercion and Range
   (tests/reliability/test_coercion_hypothesis.py) and form bodies
   (tests/reliability/test_form_hypothesis.py), with --examples examples per test, under the
   hypothesis profile ``fuzz`` of tests/conftest.py: random (the normal test run is derandomised),
   and a counterexample found is written into tests/hypothesis-examples/, which the normal run
   replays: commit the new files there with the fix (and add the case as an ``@example``).

Bounded: each part has a time limit. Prints markdown and writes it to the `fuzz` block of
bench/RESULTS.md. Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
import time

import results_blocks
from stress import REPO

SUITES = ["tests/reliability/test_coercion_hypothesis.py", "tests/reliability/test_form_hypothesis.py"]
EXAMPLES = REPO / "tests" / "hypothesis-examples"


def stored_examples() -> set[str]:
    return {str(p.relative_to(REPO)) for p in EXAMPLES.rglob("*") if p.is_file()} if EXAMPLES.is_dir() else set()


def run(argv: list[str], env: dict[str, str], limit: float) -> tuple[bool, str, float]:
    started = time.monotonic()
    try:
        out = subprocess.run(argv, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {limit:.0f} s", time.monotonic() - started
    text = out.stdout + out.stderr
    print(text[-3000:], file=sys.stderr)
    return out.returncode == 0, text, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="proptest cases per property")
    parser.add_argument("--examples", type=int, default=1000, help="hypothesis examples per test")
    args = parser.parse_args()
    python = sys.executable
    cargo_env = {
        "PROPTEST_CASES": str(args.cases),
        "LD_LIBRARY_PATH": sysconfig.get_config_var("LIBDIR") or "",
        "PYO3_PYTHON": "python3",
    }
    rust_ok, rust_out, rust_s = run(["cargo", "test", "--quiet", "fuzz_"], cargo_env, 1500)
    match = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", rust_out)
    properties = f"{match.group(1)} passed, {match.group(2)} failed" if match else "did not run"
    suites = [s for s in SUITES if (REPO / s).exists()]
    stored = stored_examples()
    py_ok, py_out, py_s = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-profile=fuzz", *suites],
        {"TURBOAPI_FUZZ_EXAMPLES": str(args.examples)},
        1500,
    )
    summary = re.findall(r"^=*\s*(\d+ (?:passed|failed).*?) in ", py_out, re.M)
    lines = [
        "## Reliability: fuzzing (`make fuzz`)",
        "",
        f"- {results_blocks.stamp()}",
        f"- the core's parsers (src/fuzz_tests.rs, proptest): {properties} properties, {args.cases:,} random "
        f"inputs each, {rust_s:.0f} s",
        f"- against FastAPI (hypothesis, {args.examples:,} examples per test; {', '.join(suites)}): "
        f"{summary[-1] if summary else 'did not run'}, {py_s:.0f} s",
    ]
    new_examples = sorted(stored_examples() - stored)
    if new_examples:
        lines.append(
            f"- {len(new_examples)} new files in {EXAMPLES.relative_to(REPO)}/ (counterexamples, replayed by "
            "the normal test run): commit them with the fix"
        )
    failures = [name for name, ok in (("the parsers' properties", rust_ok), ("the hypothesis suites", py_ok)) if not ok]
    return results_blocks.report("fuzz", lines, failures)


if __name__ == "__main__":
    sys.exit(main())
