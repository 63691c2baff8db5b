"""What every command shares: exit codes and the one-line error."""

from __future__ import annotations

import sys

EXIT_USAGE = 2
EXIT_FAILED = 1


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"spherescope: error: {message}", file=sys.stderr)
    return code
