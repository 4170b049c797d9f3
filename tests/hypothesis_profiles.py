"""Hypothesis settings profiles for every property test under tests/ (issue 13).

* ``ci`` (the default): derandomised, so that a run tests the same examples every time and a landing
  is never refused by luck; it replays the counterexamples kept in ``tests/hypothesis-examples/``
  (read-only: a normal run never writes into the repository).
* ``fuzz`` (``make fuzz``: ``bench/fuzz.py`` passes ``--hypothesis-profile=fuzz``): random, and a
  counterexample it finds is written into the same directory, to be committed with its fix.

Under ``ci`` hypothesis also leaves out the literals of the project's modules, which it otherwise
mixes into what it draws: with them, a derandomised test drew other examples after an unrelated
commit added a string to turboapi/serving.py, and other examples again when run alone than in the
whole suite (more modules imported). ``fuzz`` keeps them: they help it find bugs.

A test's own ``settings(...)`` (examples, deadline, health checks, phases) must not set
``derandomize`` or ``database``, and must be built after this file has loaded a profile (at the
test module's import), so that it inherits both from the profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, ReadOnlyDatabase

#: The known counterexamples, keyed by hypothesis from the test function's source (decorators and
#: comments excluded) and stored in its own serialisation: an edit of a test's body or a hypothesis
#: upgrade can orphan them, so each one is also an explicit ``@example`` in its test.
EXAMPLES = Path(__file__).resolve().parent / "hypothesis-examples"


class KeepCommitted(ExampleDatabase):
    """``db`` for ``make fuzz``: it gains each test's minimal counterexamples and loses nothing.

    Hypothesis deletes an entry that no longer fails, and that is every committed entry once its bug
    is fixed: a ``make fuzz`` run would leave the deletions of the regression cases in the working
    tree. So only what this process saved can be deleted (a shrink's intermediate steps). The
    secondary and pareto corpora (the ``.secondary``/``.pareto`` sub-keys: a shrink's non-minimal
    failures, a dozen files per bug) are not kept: the minimal case is what is worth committing.
    """

    NOT_KEPT = (b".secondary", b".pareto")

    def __init__(self, db: ExampleDatabase) -> None:
        super().__init__()
        self._db = db
        self._saved: set[tuple[bytes, bytes]] = set()

    def __repr__(self) -> str:
        return f"KeepCommitted({self._db!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeepCommitted) and self._db == other._db

    def fetch(self, key: bytes) -> Iterable[bytes]:
        yield from self._db.fetch(key)

    def save(self, key: bytes, value: bytes) -> None:
        if key.endswith(self.NOT_KEPT):
            return
        if value not in self._db.fetch(key):
            self._saved.add((key, value))
            self._db.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        if (key, value) in self._saved:
            self._saved.discard((key, value))
            self._db.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.save(dest, value)
        self.delete(src, value)


# settings(derandomize=True, database=...) is refused ("derandomize=True implies database=None"),
# but the engine replays the database of whatever settings it runs with: the database is set on a
# child of the derandomised settings. tests/reliability/test_hypothesis_profiles.py checks that a
# derandomised run still replays it.
settings.register_profile(
    "ci",
    settings(settings.get_profile("default"), derandomize=True, deadline=None, print_blob=True),
    database=ReadOnlyDatabase(DirectoryBasedExampleDatabase(EXAMPLES)),
)
settings.register_profile(
    "fuzz",
    settings.get_profile("default"),
    derandomize=False,
    deadline=None,
    print_blob=True,
    database=KeepCommitted(DirectoryBasedExampleDatabase(EXAMPLES)),
)
# --hypothesis-profile, applied by hypothesis' pytest plugin after this file is imported, overrides it.
settings.load_profile("ci")


def drop_module_literals() -> None:
    """Under ``ci``, once hypothesis' plugin has loaded the --hypothesis-profile (conftest's
    pytest_configure): the literals of the project's modules are not drawn (see above)."""
    if settings.get_current_profile_name() != "ci":
        return
    # Private to hypothesis (no setting turns it off): if an upgrade drops it, this does nothing and
    # tests/reliability/test_hypothesis_profiles.py fails.
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    if hasattr(providers, "_get_local_constants"):
        none = Constants()
        providers._get_local_constants = lambda: none
