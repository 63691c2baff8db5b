"""The frozen app's entry point: the same `spherescope` command as the wheel's."""

import sys

from spherescope.cli import main

if __name__ == "__main__":
    sys.exit(main())
