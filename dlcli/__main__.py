"""`python -m dlcli` runs the `dl` command."""

from dlcli.cli import app

app(prog_name="dl")
