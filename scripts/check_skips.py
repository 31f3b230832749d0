#!/usr/bin/env python3
"""Fails when ctest skipped a test that the README's "Expected skips" table does not name.

A skipped test counts as passed in ctest's summary, so a test that quietly stopped running (a
kernel the CPU lacks, a missing model) would look like a pass in CI. The table (README.md,
section "Expected skips") lists each test that may skip, as a shell-style pattern in backticks,
and why; anything else that skips fails the test script.

usage: scripts/check_skips.py README.md CTEST_LOG
"""
import fnmatch
import re
import sys


def expected_patterns(readme_path):
    text = open(readme_path, encoding="utf-8").read()
    match = re.search(r"^### Expected skips\n(.*?)(?=^#)", text, re.S | re.M)
    if not match:
        sys.exit(f"{readme_path}: no '### Expected skips' section")
    patterns = re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M)
    if not patterns:
        sys.exit(f"{readme_path}: the 'Expected skips' section has no table rows")
    return patterns


def skipped_tests(log_path):
    names = []
    for line in open(log_path, encoding="utf-8", errors="replace"):
        m = re.match(r"^\s*\d+ - (.+?)(?:\s+# GetParam\(\) = .*)? \(Skipped\)\s*$", line)
        if m:
            names.append(m.group(1))
    return names


def main(readme_path, log_path):
    patterns = expected_patterns(readme_path)
    skipped = skipped_tests(log_path)
    unexpected = [n for n in skipped if not any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    for name in skipped:
        print(f"[skips] {'UNEXPECTED' if name in unexpected else 'expected'}: {name}")
    if unexpected:
        sys.exit(f"{len(unexpected)} test(s) skipped that {readme_path}'s 'Expected skips' table "
                 "does not name: a skip hides a test that did not run")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
