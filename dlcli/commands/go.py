"""`dl go`: the course's Go project. `data` turns game records into training shards, `train`
trains a policy/value network on them, `info` checks any network against the course's rules.

Part 2's commands, which make the networks play (gtp, match, tournament, selfplay), live in
`go_play` and are registered on the same group.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.checks import check_range, choice
from dlcli.choices import GO_NETWORKS, GO_VALUE_HEADS, OPTIMIZERS
from dlcli.commands import go_play
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

NETWORKS = GO_NETWORKS  # dlcli.models.gonets.GO_BUILDERS' names, without importing Keras
FORMATS = ("auto", "sgf", "games-data")
COURSE_MAX_PARAMS = 100_000
COURSE_BATCH = 128
COURSE_EPOCHS = 20


def register(app: typer.Typer) -> None:
    """`dl go` and its commands: part 1's here (data, train, eval, info), part 2's from `go_play`."""
    go_app = typer.Typer(help="The course's Go project: training data, policy/value networks, network checks.",
                         no_args_is_help=True)
    go_app.command("data", help="Build a training set (31 planes, policy, value) from SGF records or games.data.")(with_common(data))
    go_app.command("train", help="Train a policy/value network (baseline, residual, mobilenet, convnext) on `dl go data` shards.")(with_common(train))
    go_app.command("eval", help="Score a network on recorded games: policy top-1/top-5, value MSE, by phase of the game.")(with_common(evaluate))
    go_app.command("info", help="Parameters, input shape and heads of a network, and whether it fits the course's rules.")(with_common(info))
    go_play.register(go_app)
    app.add_typer(go_app, name="go")


def data(
    sources: Annotated[list[Path], typer.Argument(help="SGF files, folders or zips of them, or the course's games.data.")],
    kind: Annotated[str, typer.Option("--format", help=f"Record format: {', '.join(FORMATS)}.")] = "auto",
    validation: Annotated[float, typer.Option(help="Fraction of whole games kept out of training for validation.")] = 0.1,
    shard_size: Annotated[int, typer.Option(help="Positions per compressed .npz shard.")] = 20_000,
    write_games_data: Annotated[Optional[Path], typer.Option("--write-games-data", help="Also write the games read, in golois' games.data format, to this file.")] = None,
    common: GlobalOptions = None,
) -> None:
    """Encode every position of the games as the course's 31 planes, in shards (--limit: games)."""
    kind = choice("--format", kind, FORMATS)
    check_range("--validation", validation, 0, 1)
    check_range("--shard-size", shard_size, 1)
    for source in sources:
        if not source.exists():
            raise DlcliError(f"{source}: no such file or folder; give SGF files, a folder or zip of them, or games.data")
    from dlcli.go import dataset

    for source in sources:  # a bad games.data is one line before any run folder is made
        if dataset.is_games_data(source, kind):
            from dlcli.go import gamesdata

            gamesdata.read(source)
    if write_games_data is not None and (write_games_data.is_dir() or not write_games_data.parent.is_dir()):
        raise DlcliError(f"--write-games-data {write_games_data}: give a file in an existing folder")
    options = {"sources": [str(s) for s in sources], "format": kind, "validation": validation, "shard_size": shard_size,
               "write_games_data": None if write_games_data is None else str(write_games_data)}
    with Session("go-data", sources[0].stem or "games", options, common) as session:
        from dlcli.go import dataset, sgf

        tally = sgf.Tally()
        games = dataset.read_games(sources, tally, kind=kind)
        kept: list = []
        if write_games_data is not None:
            games = _keeping(games, kept)
        with _bar(session, "encoding games", dataset.count_files(sources)) as advance:
            manifest = dataset.build_shards(games, session.run.path / "shards", validation=validation,
                                            shard_size=shard_size, limit=common.limit,
                                            progress=lambda game: advance(tally.files))
        if manifest["positions"] == 0:
            first = (tally.skipped + manifest["illegal"] + ["no moves in the records"])[0]
            raise DlcliError(f"no position to train on in {', '.join(map(str, sources))} ({first})")
        train, held_out = manifest["splits"]["train"], manifest["splits"]["validation"]
        if tally.skipped or manifest["illegal_games"]:
            session.display.message(f"skipped {len(tally.skipped)} bad files and {manifest['illegal_games']} games "
                                    f"with an illegal move; first: {(tally.skipped + manifest['illegal'])[0]}")
        written = {}
        if write_games_data is not None:
            written = _write_games_data(kept, write_games_data, session)
        session.finish({**written, "files": tally.files, "games": manifest["games"], "positions": manifest["positions"],
                        "train_games": train["games"], "train_positions": train["positions"],
                        "validation_games": held_out["games"], "validation_positions": held_out["positions"],
                        "skipped_files": len(tally.skipped), "skipped": tally.skipped[:20],
                        "illegal_games": manifest["illegal_games"], "positions_per_s": manifest["positions_per_s"],
                        "shards": str(session.run.path / "shards")})


def train(
    data: Annotated[Optional[Path], typer.Option("--data", help="A `dl go data` run folder (default: the newest).")] = None,
    network: Annotated[str, typer.Option("--network", "-n", help=f"Tower: {', '.join(NETWORKS)}.")] = "baseline",
    filters: Annotated[Optional[int], typer.Option(help="Trunk filters (default 32).")] = None,
    blocks: Annotated[Optional[int], typer.Option(help="Blocks in the tower (default per network).")] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training shards.")] = COURSE_EPOCHS,
    batch_size: Annotated[int, typer.Option(help="Positions per batch.")] = COURSE_BATCH,
    optimizer: Annotated[str, typer.Option(help=f"One of {', '.join(OPTIMIZERS)}.")] = "adam",
    learning_rate: Annotated[float, typer.Option(help="Initial rate, cosine-annealed to 0 over the training.")] = 0.002,
    policy_weight: Annotated[float, typer.Option(help="Weight of the policy loss (cross-entropy).")] = 1.0,
    value_weight: Annotated[float, typer.Option(help="Weight of the value loss (binary cross-entropy).")] = 1.0,
    max_params: Annotated[int, typer.Option(help="Refuse a network with this many parameters or more.")] = COURSE_MAX_PARAMS,
    augment: Annotated[bool, typer.Option("--augment/--no-augment", help="A random board symmetry per batch.")] = True,
    init: Annotated[Optional[Path], typer.Option("--init", help="Start from this network's weights (same --network, --filters, --blocks): the AlphaZero loop's next generation.")] = None,
    fresh_value_head: Annotated[bool, typer.Option("--fresh-value-head", help="With --init: keep the trunk and policy head, start the value head afresh (one whose ReLUs died outputs a constant).")] = False,
    value_head: Annotated[str, typer.Option("--value-head", help=f"Value head: {', '.join(GO_VALUE_HEADS)} (the course's; or one read from the side to move's point of view, flipped for Black).")] = "course",
    common: GlobalOptions = None,
) -> None:
    """Train a policy/value network on `dl go data` shards, streamed; save model.h5 and model.keras."""
    network = choice("--network", network, NETWORKS)
    value_head = choice("--value-head", value_head, GO_VALUE_HEADS)
    optimizer = choice("--optimizer", optimizer, OPTIMIZERS)
    for option, value in (("--epochs", epochs), ("--batch-size", batch_size), ("--max-params", max_params),
                          ("--filters", filters), ("--blocks", blocks)):
        check_range(option, value, 1)
    check_range("--learning-rate", learning_rate, 0, low_open=True)
    check_range("--policy-weight", policy_weight, 0)
    check_range("--value-weight", value_weight, 0)
    if fresh_value_head and init is None:
        raise DlcliError("--fresh-value-head starts a value head afresh on a trained network: give --init NET")
    from dlcli.run import newest_run

    source = data if data is not None else newest_run("go-data", common.runs_dir, quiet=common.quiet)
    from dlcli.go.dataset import load_manifest  # numpy only: the folder is checked before the run starts

    folder, manifest = load_manifest(source)
    hyper = {k: v for k, v in (("filters", filters), ("blocks", blocks)) if v is not None}
    hyper["value_head"] = value_head
    options = {"data": str(folder), "network": network, **hyper, "epochs": epochs, "batch_size": batch_size,
               "optimizer": optimizer, "learning_rate": learning_rate, "policy_weight": policy_weight,
               "value_weight": value_weight, "max_params": max_params, "augment": augment,
               "init": None if init is None else str(init), "fresh_value_head": fresh_value_head}
    with Session("go-train", network, options, common, family=f"go_{network}") as session:
        import keras

        from dlcli import precision, training
        from dlcli.go.dataset import stream
        from dlcli.models import build, gonets

        size = manifest["board_size"]
        model = build(f"go_{network}", (size, size, manifest["planes"]), size * size, **hyper)
        if model.count_params() >= max_params:
            raise DlcliError(f"the {network} network has {model.count_params():,} parameters, at or over "
                             f"--max-params {max_params:,}; lower --filters or --blocks")
        if init is not None:
            _start_from(model, init, fresh_value_head=fresh_value_head)
        train_data, steps, clock = stream(folder, manifest, "train", batch_size=batch_size, augment=augment,
                                          seed=session.seed, limit=common.limit)
        if steps == 0:
            raise DlcliError(f"{folder} has no training positions; build it with more games or a lower --validation")
        held_out, held_steps, _ = stream(folder, manifest, "validation", batch_size=batch_size, shuffle=False,
                                         limit=common.limit)
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps)
        gonets.compile_go(model, optimizer=optimizer, learning_rate=schedule, policy_weight=policy_weight,
                          value_weight=value_weight)
        samples = min(manifest["splits"]["train"]["positions"], common.limit or float("inf"))
        history = session.fit(model, train_data, None, epochs=epochs, batch_size=None,
                              validation_data=held_out if held_steps else None, samples=int(samples),
                              callbacks=[clock.callback])
        metrics = training.evaluate(model, held_out, None, prefix="val_") if held_steps else {}
        dead = gonets.policy_head_dead(history, size * size)
        if dead:
            print(f"dl: warning: the policy learnt nothing (its loss stayed at ln {size * size} in every epoch): the "
                  "course head's ReLU died; train again with another --seed or more --filters (docs/go.md)",
                  file=sys.stderr)
        if session.precision != "float32":  # the saved network computes in float32, on any machine
            precision.apply("float32")
            trained, model = model, build(f"go_{network}", (size, size, manifest["planes"]), size * size, **hyper)
            model.set_weights(trained.get_weights())
        session.finish({**metrics, "network": network, "epochs": epochs, "train_positions": int(samples),
                        "precision": session.precision, "policy_head_dead": dead,
                        "validation_positions": manifest["splits"]["validation"]["positions"] if held_steps else 0,
                        "fits_course_rules": model.count_params() < COURSE_MAX_PARAMS},
                       model=model, history=history)


def info(
    network: Annotated[Path, typer.Argument(help="A network file (.h5 or .keras), ours or a student's, or a run folder.")],
    max_params: Annotated[int, typer.Option(help="The parameter limit to check against.")] = COURSE_MAX_PARAMS,
    common: GlobalOptions = None,
) -> None:
    """Print a network's parameters, input shape and heads, and whether it fits the course's rules."""
    import json
    import sys

    path, model = _load_network(network)
    from dlcli.models import gonets

    from dlcli import pretrained

    from dlcli.run import run_of

    report = {"run": str(run_of(path)), **gonets.describe(model, max_params), "path": str(path)}
    if path.parent == pretrained.FOLDER:
        report["card"] = str(path.with_suffix(".md"))
    if common.json:
        print(json.dumps(report))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=str(path), title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key, value in report.items():
        table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    Console(stderr=True, highlight=False).print(table)
    sys.stdout.flush()


def _load_network(network: Path):
    """(file, Keras model) for a network argument: a file, a run folder, or 'default' (shipped)."""
    from dlcli import modelfiles, pretrained
    from dlcli.session import import_tensorflow_quietly

    fix = "give a .h5 or .keras network, a `dl go train` run folder or 'default'"
    path = pretrained.go_network() if str(network) == pretrained.DEFAULT else modelfiles.find(network, what="network", fix=fix)
    import_tensorflow_quietly()
    model = modelfiles.load(path, what="network", fix=fix)
    return path, model


def evaluate(
    network: Annotated[Path, typer.Argument(help="A network file (.h5 or .keras, ours or a student's), a `dl go train` run folder, or 'default'.")],
    records: Annotated[list[Path], typer.Argument(help="SGF files, folders or zips of them, games.data, or a `dl go data` run or shards folder.")],
    split: Annotated[str, typer.Option(help="With a `dl go data` folder: which split to score (validation, train).")] = "validation",
    batch_size: Annotated[int, typer.Option(help="Positions per network call.")] = 512,
    common: GlobalOptions = None,
) -> None:
    """Score a network on recorded games: policy top-1/top-5 accuracy and value MSE, overall and by phase (--limit: games)."""
    import json

    from dlcli.go import dataset

    split = choice("--split", split, dataset.SPLITS)
    check_range("--batch-size", batch_size, 1)
    for source in records:
        if not source.exists():
            raise DlcliError(f"{source}: no such file or folder; give SGF files, a folder or zip of them, "
                             "games.data, or a `dl go data` run folder")
    path, model = _load_network(network)
    from dlcli.go import evaluate as scoring
    from dlcli.go import mcts, sgf

    try:
        predict = mcts.NetworkEvaluator(model, symmetries=False).predict
    except ValueError as error:
        raise DlcliError(f"{path}: {error}") from None
    scores = scoring.Scores()
    for source in records:
        shards = source.is_dir() and any((folder / dataset.MANIFEST).is_file() for folder in (source, source / "shards"))
        if shards:
            folder, manifest = dataset.load_manifest(source)
            dataset.check_shards(folder, manifest, split)
            positions = scoring.shard_positions(folder, manifest, split)
            scores.games += manifest["splits"][split]["games"]
        else:
            games = dataset.read_games([source], sgf.Tally())
            if common.limit is not None:
                games = (game for index, game in zip(range(common.limit), games))
            positions = scoring.record_positions(games, scores)
        scoring.score(predict, positions, scores, batch_size=batch_size)
    from dlcli.run import run_of

    report = {"run": str(run_of(path)), "network": str(path), **scores.report()}
    if report[scoring.ALL]["positions"] == 0:
        raise DlcliError(f"no position to score in {', '.join(map(str, records))}")
    if common.json:
        print(json.dumps(report))
    _print_scores(report, scoring)


def _print_scores(report: dict, scoring) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['network']}: {report['games']} games", title_justify="left")
    for column in ("moves", "policy top-1", "policy top-5", "value MSE", "positions"):
        table.add_column(column, justify="right")
    for name in (scoring.ALL, *(phase[0] for phase in scoring.PHASES)):
        row = report[name]
        cells = [f"{row[key]:.4f}" if row[key] is not None else "-" for key in ("policy_top1", "policy_top5", "value_mse")]
        table.add_row(name.replace("moves ", ""), *cells, f"{row['positions']:,}")
    Console(stderr=True, highlight=False).print(table)
    if report["skipped_games"]:
        Console(stderr=True, highlight=False).print(f"skipped {report['skipped_games']} games with an illegal move; "
                                                    f"first: {report['skipped'][0]}")


def _keeping(games, kept: list):
    """The same games, each also appended to `kept` as it passes."""
    for game in games:
        kept.append(game)
        yield game


def _write_games_data(games: list, path: Path, session: Session) -> dict:
    """Write the 19x19 games without set-up stones in golois' format; say how many were left out."""
    from dlcli.atomic import atomic_path
    from dlcli.go import gamesdata

    fitting = [g for g in games if g.size == gamesdata.SIZE and not (g.setup_black or g.setup_white) and _legal(g)]
    with atomic_path(path) as temporary:
        temporary.write_text(gamesdata.write(fitting), encoding="ascii")
    if len(fitting) < len(games):
        session.display.message(f"games.data holds 19x19 games without handicap stones: left out "
                                f"{len(games) - len(fitting)} of {len(games)} games")
    return {"games_data": str(path), "games_data_games": len(fitting)}


def _legal(game) -> bool:
    from dlcli.go.sgf import SgfError

    try:
        game.final_board()
    except SgfError:
        return False
    return True


def _start_from(model, network: Path, *, fresh_value_head: bool = False) -> None:
    """Start `model` from the network file's weights (`gonets.copy_weights`), or say in one line why not."""
    from dlcli.go.mcts import load_network

    try:
        source = load_network(network)
    except DlcliError as error:
        raise DlcliError(f"--init {network}: {error}") from None
    from dlcli.models import gonets

    try:
        gonets.copy_weights(model, source, fresh_value_head=fresh_value_head)
    except ValueError:
        raise DlcliError(f"--init {network}: its layers differ from this --network; give the same --network, "
                         "--filters and --blocks it was trained with") from None


@contextmanager
def _bar(session: Session, description: str, total: int):
    """A progress bar on stderr (plain start/end lines when not live); yields `advance(done)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=session.display.console, disable=not session.display.live)
    task = bar.add_task(description, total=total)
    if not session.display.live:
        session.display.message(f"{description}: {total} files")
    with bar:
        yield lambda done: bar.update(task, completed=done)
