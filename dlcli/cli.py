"""The `dl` root: registers every command and the global options; imports no TensorFlow.

Errors leave through one place: a `DlcliError` or a usage error prints one line on stderr and
exits 2; Ctrl-C exits 130; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli import __version__
from dlcli import legacy, session
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions

try:  # recent Typer vendors Click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older Typer with Click installed
    from click.exceptions import ClickException


class App(typer.Typer):
    """Typer with one-line errors instead of panels and tracebacks for user mistakes."""

    def __call__(self, args: list[str] | None = None, prog_name: str = "dl") -> None:
        command = typer.main.get_command(self)
        given = sys.argv[1:] if args is None else [str(arg) for arg in args]
        session.COMMAND_LINE[:] = given  # what a run records as its argv
        args = legacy.rewrite(given)
        try:
            code = command.main(args=args, prog_name=prog_name, standalone_mode=False)
        except DlcliError as error:
            fail(str(error), error.exit_code)
        except ClickException as error:
            fail(error.format_message().replace("\n", " "), 2 if error.exit_code == 2 else error.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int) -> None:
    """Print one line on stderr and exit with `code`."""
    sys.stdout.flush()
    print(f"dl: error: {message}", file=sys.stderr)
    sys.exit(code)


app = App(
    name="dl",
    help="Every exercise of the deep-learning course as one reproducible command.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def show_version(value: bool) -> None:
    if value:
        print(f"dl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=show_version, is_eager=True, help="Show the version and exit."),
    ] = None,
    runs_dir: Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder searched first for dataset files (env DLCLI_DATA_DIR).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (default 0).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors, warnings and the final line (run folder or JSON).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the final metrics as one JSON object on stdout.")] = False,
) -> None:
    """Every exercise of the deep-learning course as one reproducible command.

    Progress goes to stderr; stdout's last line is the run folder (or one JSON object with --json),
    so `run=$(dl classify digits)` works in scripts. The same options are accepted after a command.
    """
    ctx.obj = GlobalOptions(runs_dir=runs_dir, data_dir=data_dir, seed=seed, quiet=quiet, json=json_output)


# Every command module, in the order `dl --help` lists them; each has `register(app)`.
COMMANDS = ("backprop", "classify", "regress", "kfold", "cnn", "resnet", "mobilenet", "autoencode", "vae", "textgen",
            "timeseries", "translate", "go", "runs", "eval", "predict", "data")

for name in COMMANDS:
    importlib.import_module(f"dlcli.commands.{name}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
