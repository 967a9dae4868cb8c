"""The command line: argument parsing, the commands, and the console entry point (weir.tui.cli.main:main)."""
