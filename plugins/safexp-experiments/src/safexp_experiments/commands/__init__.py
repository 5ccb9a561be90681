"""One module per ``safexp`` subcommand this plugin adds, each with ``add_arguments(parser)`` and ``run(args)``."""
