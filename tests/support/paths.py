"""Where things are, for tests and helpers wherever they sit."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
TEST_RUNBOOKS = TESTS / "runbooks"
HISTORIES = TESTS / "histories"


def corpus() -> Path | None:
    """The 256 real public runbooks (`../shared/corpus`), when this machine has them."""
    for candidate in (REPO.parent / "shared" / "corpus", Path("/work/shared/corpus")):
        if candidate.is_dir():
            return candidate
    return None
