"""The `dfl` command line: one module per command group."""
