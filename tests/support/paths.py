"""Where things are, for tests and helpers wherever they sit."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
TEST_RUNBOOKS = TESTS / "runbooks"
HISTORIES = TESTS / "histories"
