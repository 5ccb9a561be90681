"""The core's own subcommands (see :mod:`safexp.cli`): one module each, with ``add_arguments`` and ``run``."""
