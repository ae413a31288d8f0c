"""What every command shares on the command line: the global options, --config and --resume.

A command declares its own options; `with_common` adds the global ones (`--out`, `--runs-dir`,
`--data-dir`, `--seed`, `--quiet`, `--json`, `--limit`) so that they work after the command name
as well as before it, and hands them to the command as one `GlobalOptions` (`dlcli.session`,
which also holds the training `Session`). Option values are checked with `dlcli.checks`.
"""

from __future__ import annotations

import functools
import inspect
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from dlcli import legacy
from dlcli.checks import check_range
from dlcli.errors import DlcliError
from dlcli.session import DEFAULT_SEED, MAX_SEED, GlobalOptions, jsonable

# Global options that say where and how a run is shown, not what it computes: --resume never restores them.
NOT_RECORDED = frozenset({"out", "runs_dir", "quiet", "json", "tensorboard", "config", "resume",
                          "strategy", "seed", "limit", "deterministic"})


def read_config(ctx: typer.Context, path: Optional[Path]) -> Optional[Path]:
    """`--config FILE.toml`: its values become the command's defaults, so the command line wins.

    Top-level keys apply to the command being run and must be options of it; a table named after
    a command (`[classify]`, `[go.train]`) applies to that command only, and a table for a command
    that does not exist is refused. Keys are option names (`batch-size` or `batch_size`).
    """
    if path is None or ctx.resilient_parsing:
        return path
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DlcliError(f"cannot read --config {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise DlcliError(f"--config {path} is not valid TOML: {error}") from None
    names = ctx.command_path.split()[1:]  # ["classify"], ["go", "train"]
    section = _check_tables(path, document, ctx.find_root().command)
    for name in names:
        section = section.get(name, {})
    flat = {key: value for key, value in document.items() if not isinstance(value, dict)}
    values = {key.replace("-", "_"): value for key, value in {**flat, **section}.items()}
    values = _upgrade_configured(path, "-".join(names), values)
    parameters = {parameter.name: parameter for parameter in ctx.command.params}
    unknown = sorted(set(values) - set(parameters) - {"config"})
    if unknown:
        raise DlcliError(f"--config {path}: 'dl {' '.join(names)}' has no option {', '.join(unknown)}")
    for key, value in values.items():
        if isinstance(value, bool) and _takes_number(parameters[key]):
            raise DlcliError(f"--config {path}: {key.replace('_', '-')} takes a number, got {str(value).lower()}")
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return path


def _upgrade_configured(path: Path, command: str, values: dict[str, Any]) -> dict[str, Any]:
    """A --config file's old option names, renamed with one warning each (see `legacy`)."""
    upgraded, renames = legacy.upgrade(command, values)
    for old, new in renames:
        print(f"dl: warning: --config {path}: '{old}' is deprecated for {command}; use '{new}'", file=sys.stderr)
    return upgraded


def _takes_number(parameter) -> bool:
    """Whether a command-line parameter takes an int or a float (TOML's true would pass as 1)."""
    annotation = getattr(getattr(parameter, "type_descriptor", None), "annotation", None)
    if annotation is None:  # a plain Click parameter
        annotation = {"integer": int, "float": float}.get(getattr(getattr(parameter, "type", None), "name", ""))
    return annotation in (int, float)


def _check_tables(path: Path, document: dict[str, Any], group, where: str = "") -> dict[str, Any]:
    """Refuse a key named after a command that is not a table, and a table of no command of `group`
    (tables of a command group hold tables of its commands); return `document`."""
    commands = getattr(group, "commands", {})
    for key, value in document.items():
        if where and not isinstance(value, dict):
            raise DlcliError(f"--config {path}: [{where.rstrip('.')}] holds tables of its commands "
                             f"([{where}{next(iter(commands), 'name')}]), not the option {key}")
        if key in commands and not isinstance(value, dict):
            raise DlcliError(f"--config {path}: '{where}{key}' is a command: put its options in a [{where}{key}] table")
        if isinstance(value, dict):
            if key not in commands:
                raise DlcliError(f"--config {path}: [{where}{key}] names no command of dl"
                                 f"{' ' + where.rstrip('.') if where else ''}; use one of: {', '.join(sorted(commands))}")
            if getattr(commands[key], "commands", None):
                _check_tables(path, value, commands[key], f"{where}{key}.")
    return document


def read_resume(ctx: typer.Context, path: Optional[Path]) -> Optional[Path]:
    """`--resume RUN`: the interrupted run's options become the defaults (the command line still wins)."""
    if path is None or ctx.resilient_parsing:
        return path
    from dlcli.run import read_run_config

    config = read_run_config(path, command="-".join(ctx.command_path.split()[1:]))
    parameters = {parameter.name: parameter for parameter in ctx.command.params}
    if "arguments" in config:  # the parameters exactly as parsed: they round-trip by type
        recorded = dict(config["arguments"])
    else:  # a run recorded before `arguments` existed: its checked option values, lists back to text
        recorded = {"dataset": config.get("dataset"), **{
            key: ",".join(map(str, value)) if isinstance(value, list) and not getattr(parameters.get(key), "multiple", True)
            else value for key, value in config.get("options", {}).items()}}
    recorded, _ = legacy.upgrade(config.get("command", ""), recorded)  # a run recorded under old option names
    recorded.update(seed=config.get("seed"), limit=config.get("limit"), deterministic=config.get("deterministic"))
    values = {key: value for key, value in recorded.items() if key in parameters and value is not None}
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return path


COMMON_OPTIONS = [
    ("out", Annotated[Optional[Path], typer.Option(help="Write the run folder exactly here.", rich_help_panel="Run")], None),
    ("runs_dir", Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).", rich_help_panel="Run")], None),
    ("data_dir", Annotated[Optional[Path], typer.Option(help="Folder searched first for dataset files (env DLCLI_DATA_DIR).", rich_help_panel="Run")], None),
    ("seed", Annotated[Optional[int], typer.Option(help=f"Random seed (default {DEFAULT_SEED}).", rich_help_panel="Run")], None),
    ("limit", Annotated[Optional[int], typer.Option(min=1, help="Use only the first N training and N test samples.", rich_help_panel="Run")], None),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors, warnings and the final line (run folder or JSON).", rich_help_panel="Run")], False),
    ("json", Annotated[bool, typer.Option("--json", help="Print the final metrics as one JSON object on stdout.", rich_help_panel="Run")], False),
    ("deterministic", Annotated[bool, typer.Option("--deterministic", help="Same seed, same numbers: deterministic ops (slower).", rich_help_panel="Run")], False),
    ("tensorboard", Annotated[bool, typer.Option("--tensorboard", help="Write TensorBoard logs to the run folder.", rich_help_panel="Run")], False),
    ("config", Annotated[Optional[Path], typer.Option(help="Read options from a TOML file; the command line wins.", callback=read_config, is_eager=True, rich_help_panel="Run")], None),
    ("strategy", Annotated[Optional[str], typer.Option(help="auto, single (one device), mirrored (all local GPUs) or multiworker (TF_CONFIG); default auto: mirrored with several GPUs, else single.", rich_help_panel="Run")], None),
    ("precision", Annotated[Optional[str], typer.Option(help="auto, float32 or bfloat16 (Keras' mixed bfloat16; outputs stay float32). auto: bfloat16 where the hardware has it and the model family is measured to gain; default auto.", rich_help_panel="Run")], None),
    ("resume", Annotated[Optional[Path], typer.Option(help="Continue an interrupted run folder from its last checkpoint.", callback=read_resume, is_eager=True, rich_help_panel="Run")], None),
]


def add_options(function: Callable[..., Any], parameter: str, options: list[tuple[str, Any, Any]],
                make: Callable[[typer.Context, dict[str, Any]], Any]) -> Callable[..., Any]:
    """Give `function` the command-line `options`; it receives `make(ctx, values)` as `parameter`.

    This is how options shared by several commands are declared once: Typer reads the wrapper's
    signature, which is the function's own parameters plus the shared options.
    """
    signature = inspect.signature(function, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != parameter]
    keeps_context = any(p.name == "ctx" for p in own)
    context = [] if keeps_context else [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for name, annotation, default in options]

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> Any:
        ctx = kwargs["ctx"] if keeps_context else kwargs.pop("ctx")
        kwargs[parameter] = make(ctx, {name: kwargs.pop(name) for name, _, _ in options})
        try:
            return function(**kwargs)
        except KeyboardInterrupt:  # Ctrl-C before a Session took over (start-up): Typer would exit 130 silently
            sys.stdout.flush()
            print("dl: error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    positional = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
    keyword = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
    parameters = [*context, *positional, *keyword, *shared]
    wrapper.__signature__ = signature.replace(parameters=parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper


def _merge_global(ctx: typer.Context, given: dict[str, Any]) -> GlobalOptions:
    """Options given after the command win over the same ones given before it."""
    root = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    check_range("--seed", given.get("seed") if given.get("seed") is not None else root.seed, 0, MAX_SEED, high_open=False)
    arguments = {name: jsonable(value) for name, value in ctx.params.items() if name not in NOT_RECORDED}
    return replace(root, arguments=arguments, **{k: v for k, v in given.items() if v is not None and v is not False})


def with_common(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the global options to a command that takes `common: GlobalOptions`."""
    return add_options(function, "common", COMMON_OPTIONS, _merge_global)


def given_here(ctx: typer.Context, **given: Any) -> GlobalOptions:
    """The global options with those given to a command group (`dl runs --json`, `dl data --data-dir`)
    winning where set; kept on the context so that its subcommands see them too."""
    options = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    options = replace(options, **{key: value or getattr(options, key) for key, value in given.items()})
    ctx.obj = options
    return options


