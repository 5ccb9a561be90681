"""``python -m safexp.cli``: the ``safexp`` command line."""

import sys

from safexp.cli import main

sys.exit(main())
