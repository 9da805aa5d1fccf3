"""The ``freqtrade-feedback`` command line: one module per subcommand, imported lazily."""
