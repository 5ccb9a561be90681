"""One module per ``safexp`` subcommand (see :mod:`safexp.cli`)."""
