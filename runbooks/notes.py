"""Reading what people write about an execution: "I also ran `systemctl restart nginx`".

A command counts when it is named as run (`ran`, `also ran`, `I ran`, `we ran`) and written as
code (backticks) or after a colon to the end of the line; anything else is just a note.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"\b(?:i|we)?\s*(?:also\s+)?ran\s*:?\s*(`+)(?P<cmd>.+?)\1", re.IGNORECASE)
_COLON = re.compile(r"\b(?:i|we)?\s*(?:also\s+)?ran\s*:\s*(?P<cmd>[^\n`]+)", re.IGNORECASE)
MAX_COMMAND = 2000


def ran_by_hand(text: str) -> str | None:
    """The command a note says was run by hand, or None."""
    found = _CODE.search(text) or _COLON.search(text)
    if found is None:
        return None
    command = " ".join(found.group("cmd").split())
    return command[:MAX_COMMAND] or None


def same_command(command: str) -> str:
    """Two notes name the same command when they differ only in spacing."""
    return " ".join(command.split())
