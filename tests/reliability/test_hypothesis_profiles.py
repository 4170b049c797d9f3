"""The hypothesis profiles of tests/hypothesis_profiles.py (issue 13): the normal run is derandomised and still
replays the committed counterexamples.

Hypothesis documents ``derandomize=True`` as implying ``database=None`` (and refuses both in one
``settings(...)``); the profile sets the database on a child of the derandomised settings, and these
tests check that such a run really replays it, so that a hypothesis upgrade that stopped doing so
fails here instead of silently dropping the regression cases.
"""

import unittest
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase, ReadOnlyDatabase
from hypothesis.internal.conjecture import providers

EXAMPLES = Path(__file__).resolve().parent.parent / "hypothesis-examples"


def test_the_active_profile() -> None:
    """``ci`` unless ``--hypothesis-profile=fuzz`` was given (``make fuzz``)."""
    current = settings()
    name = settings.get_current_profile_name()
    assert name in ("ci", "fuzz")
    if name == "ci":
        assert current.derandomize
        assert current.database == ReadOnlyDatabase(DirectoryBasedExampleDatabase(EXAMPLES))
        # the literals of turboapi's modules are left out of what hypothesis draws (tests/hypothesis_profiles.py)
        local = providers._get_local_constants()
        assert not any(local.set_for_type(kind) for kind in ("integer", "float", "bytes", "string"))
    else:
        assert not current.derandomize
        assert repr(current.database) == f"KeepCommitted({DirectoryBasedExampleDatabase(EXAMPLES)!r})"


def probe_for(seen: list[int], limit: int = 1000):
    """A property over integers that fails from ``limit`` on. Every probe made here has the same
    source, hence the same database key, as one test function run twice (before and after a fix)."""

    def probe(n: int) -> None:
        seen.append(n)
        assert n < limit

    return given(st.integers())(probe)


def saved_case(seen: list[int] | None = None) -> InMemoryExampleDatabase:
    """A database holding the probe's counterexample, 1000, as a failing run saves it."""
    db = InMemoryExampleDatabase()
    seen = [] if seen is None else seen
    with pytest.raises(AssertionError):
        settings(settings.get_profile("ci"), database=db)(probe_for(seen))()
    assert seen[-1] == 1000
    return db


def replays(db: InMemoryExampleDatabase) -> bool:
    """Whether the normal run's settings replay the counterexample from ``db``."""
    seen: list[int] = []
    try:
        settings(settings.get_profile("ci"), database=ReadOnlyDatabase(db), phases=[Phase.reuse])(probe_for(seen))()
    except AssertionError:
        return seen[0] == 1000
    except unittest.SkipTest:  # the database is empty: nothing to run
        return False
    return False


def test_a_derandomised_run_replays_the_database() -> None:
    seen: list[int] = []
    db = saved_case(seen)  # what `make fuzz` does when it finds a bug
    # The normal run's settings (derandomised, the database read-only): the saved case is the first
    # one tried, before the generated ones.
    for phases in ([Phase.reuse], list(Phase)):
        seen.clear()
        with pytest.raises(AssertionError):
            settings(settings.get_profile("ci"), database=ReadOnlyDatabase(db), phases=phases)(probe_for(seen))()
        assert seen[0] == 1000, seen[:5]

    # The control: with an empty database the same run starts elsewhere.
    seen.clear()
    empty = ReadOnlyDatabase(InMemoryExampleDatabase())
    with pytest.raises(AssertionError):
        settings(settings.get_profile("ci"), database=empty)(probe_for(seen))()
    assert seen[0] != 1000, seen[:5]


def test_a_fuzz_run_after_the_fix_keeps_the_committed_case() -> None:
    """Hypothesis deletes a database entry that no longer fails; the fuzz profile's database keeps
    the entries it did not write, so the fixed bug's case stays replayed."""
    keep_committed = type(settings.get_profile("fuzz").database)
    for wrap, kept in ((keep_committed, True), (lambda db: db, False)):
        db = saved_case()
        fixed = settings(settings.get_profile("fuzz"), database=wrap(db), phases=[Phase.reuse])
        fixed(probe_for([], limit=2**64))()  # replays 1000, which passes now
        assert replays(db) is kept
