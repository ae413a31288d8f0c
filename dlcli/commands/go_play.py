"""`dl go gtp`, `match`, `tournament` and `selfplay`: the networks play, driven by a PUCT search.

Players are network files (or `dl go train` run folders), any GTP engine's command line
(`"gnugo --mode gtp --level 1"`) or `random`. Every network player searches with the same
options (`--time`, `--playouts`, `--search-batch`, `--c-puct`, `--virtual-loss`, `--resign`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlcli.checks import check_range
from dlcli.commands.common import add_options, with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

COURSE_SECONDS = 2.0  # the course's tournaments: 2 seconds of CPU per move
SEARCH_OPTIONS = [
    ("time", Annotated[float, typer.Option("--time", help="Seconds of search per move (the course: 2).", rich_help_panel="Search")], COURSE_SECONDS),
    ("playouts", Annotated[Optional[int], typer.Option(help="Playouts per move instead of (or within) --time; 0: the policy alone, no search.", rich_help_panel="Search")], None),
    ("search_batch", Annotated[int, typer.Option(help="Positions per network call (virtual loss spreads them).", rich_help_panel="Search")], 8),
    ("c_puct", Annotated[float, typer.Option(help="Exploration constant of PUCT.", rich_help_panel="Search")], 1.5),
    ("virtual_loss", Annotated[int, typer.Option(help="Visits counted as losses while a playout waits for the network.", rich_help_panel="Search")], 3),
    ("resign", Annotated[float, typer.Option(help="Resign below this win probability for 3 moves in a row after move 60; 0: never.", rich_help_panel="Search")], 0.05),
    ("pass_after", Annotated[Optional[int], typer.Option(help="From this move of the game on, the search may pass first (a game it sees won as it stands ends); default: only after the opponent's pass.", rich_help_panel="Search")], None),
]


def _check_search(ctx: typer.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The search options, checked, by their option names (as config.json records them for --resume)."""
    check_range("--time", values["time"], 0)
    check_range("--playouts", values["playouts"], 0)
    check_range("--search-batch", values["search_batch"], 1)
    check_range("--c-puct", values["c_puct"], 0, low_open=True)
    check_range("--virtual-loss", values["virtual_loss"], 0)
    check_range("--resign", values["resign"], 0, 1)
    check_range("--pass-after", values["pass_after"], 0)
    if values["time"] == 0 and values["playouts"] is None:
        raise DlcliError("--time 0 needs --playouts N: a search must stop somewhere")
    return values


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    """The search options as `mcts.Settings` keywords (no numpy or TensorFlow here)."""
    return {"seconds": values["time"] or None, "playouts": values["playouts"], "batch_size": values["search_batch"],
            "c_puct": values["c_puct"], "virtual_loss": values["virtual_loss"], "resign_threshold": values["resign"],
            "pass_after": values.get("pass_after")}  # runs recorded before the option have none


def with_search(function):
    """Add the search options (and the global ones) to a command taking `search` and `common`."""
    return with_common(add_options(function, "search", SEARCH_OPTIONS, _check_search))


def _network_spec(model: Optional[Path], common: GlobalOptions, search: dict[str, Any]):
    """--model as a network player: a file, a run folder, 'default' (the shipped network); without
    it, the newest complete `dl go train` run, else the shipped network (said on stderr)."""
    from dlcli.go.match import parse_spec
    from dlcli.run import newest_run

    if model is not None:
        text = str(model)
    else:
        try:
            text = str(newest_run("go-train", common.runs_dir, quiet=True))
        except DlcliError:
            text = "default"
        if not common.quiet:
            print(f"dl: playing with {'the shipped network' if text == 'default' else text} "
                  "(--model chooses another)", file=sys.stderr)
    spec = parse_spec(text, **_settings(search))
    if spec.kind != "network":
        raise DlcliError(f"--model {text}: not a network; give a .h5 or .keras file or a `dl go train` run folder")
    return spec


def _engine(spec, seed: int, **overrides):
    """The search engine of a network spec; an unreadable or unfit network is one line."""
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    from dlcli.go import mcts

    try:
        return mcts.make_engine(spec.source, seed=seed, label=spec.label, **{**spec.options, **overrides})
    except (OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise DlcliError(f"{spec.source}: cannot play with this network ({reason})") from None


# ----------------------------------------------------------------------------- gtp

def gtp(
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Network file or `dl go train` run folder (default: the newest).")] = None,
    komi: Annotated[float, typer.Option(help="Komi until the controller sets one.")] = 7.5,
    search: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Speak GTP version 2 on stdin/stdout with a network and its search, for GUIs and controllers."""
    from dlcli import __version__
    from dlcli.go.gtp import GtpServer

    spec = _network_spec(model, common, search)
    engine = _engine(spec, seed=common.random_seed)
    print(f"dl go gtp: {spec.label} ready ({spec.source}); {_describe(search)}", file=sys.stderr)
    GtpServer(engine, name="dlcli", version=__version__, komi=komi).serve(sys.stdin, sys.stdout)


def _describe(search: dict[str, Any]) -> str:
    if search["playouts"] == 0:
        return "policy only, no search"
    budget = [f"{search['time']:g} s" if search["time"] else "", f"{search['playouts']} playouts" if search["playouts"] else ""]
    return f"PUCT search, {' or '.join(b for b in budget if b)} per move, batch {search['search_batch']}"


# ----------------------------------------------------------------------------- match

PLAY_OPTIONS = [
    ("games", Annotated[int, typer.Option(help="Games per pair of players; colours alternate (the first player has Black first).", rich_help_panel="Games")], 2),
    ("size", Annotated[int, typer.Option(help="Board size (networks of the course play 19).", rich_help_panel="Games")], 19),
    ("komi", Annotated[float, typer.Option(help="Komi, the same in every game.", rich_help_panel="Games")], 7.5),
    ("max_moves", Annotated[Optional[int], typer.Option(help="Stop a game after this many moves and score it as it stands (default 2 x size^2).", rich_help_panel="Games")], None),
    ("jobs", Annotated[int, typer.Option(help="Games played at once, each in its own process.", rich_help_panel="Games")], 1),
]


def _play_options(ctx: typer.Context, values: dict[str, Any]) -> dict[str, Any]:
    check_range("--games", values["games"], 1)
    check_range("--size", values["size"], 9, 19, high_open=False)
    check_range("--jobs", values["jobs"], 1)
    check_range("--max-moves", values["max_moves"], 1)
    return values


def with_games(function):
    """Add the game options (games, size, komi, max moves, jobs) as a `play` dict, then the search
    and global options."""
    return with_search(add_options(function, "play", PLAY_OPTIONS, _play_options))


def _players(texts: list[str], search: dict[str, Any]):
    from dlcli.go.match import parse_spec, unique_labels

    return unique_labels([parse_spec(text, **_settings(search)) for text in texts])


def match(
    player_a: Annotated[str, typer.Argument(help="A network file or run folder, a GTP command line in quotes, or 'random'.")],
    player_b: Annotated[str, typer.Argument(help="The same kinds as A.")],
    play: dict = None,
    search: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Play A against B; write every game as SGF, the results and A's win rate."""
    specs = _players([player_a, player_b], search)
    options = {"player_a": player_a, "player_b": player_b, **play, **search}
    name = f"{specs[0].label}-vs-{specs[1].label}"
    with Session("go-match", _file_safe(name), options, common) as session:
        from dlcli.go import elo, tournament

        labels = [spec.label for spec in specs]
        results = _play(session, specs, play, title=f"{labels[0]} vs {labels[1]}")
        a = tournament.standings(labels, results)[labels[0]]
        summary = _summary(results)
        searched = summary["search"].get(labels[0])  # A's search, shown in the table too (it shows no dicts)
        a_search = {f"a_{key}": searched[key] for key in ("playouts_per_move", "playouts_per_s", "network_precision")} \
            if searched else {}
        session.finish({**summary, **a_search, "player_a": labels[0], "player_b": labels[1],
                        "a_wins": a["wins"], "a_losses": a["losses"], "draws": a["draws"],
                        "a_win_rate": round(a["points"] / a["games"], 4),
                        "a_win_rate_95": elo.wilson_interval(a["points"], a["games"]),
                        "games_folder": str(session.run.path / tournament.GAMES)})


def _file_safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:60]


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """What every match and tournament reports about its games."""
    from collections import Counter

    from dlcli.go.tournament import search_summary

    moves = [entry["moves"] for entry in results]
    checked = [agree for entry in results for agree in entry.get("scores_agree", {}).values() if agree is not None]
    return {"games": len(results), "mean_moves": round(sum(moves) / max(len(moves), 1), 1),
            "endings": dict(Counter(entry["reason"] for entry in results)),
            "engine_scores_checked": len(checked), "engine_scores_agree": sum(checked),
            "search": search_summary(results)}


def _play(session: Session, specs, play: dict[str, Any], *, title: str):
    """Play the round robin of `specs` into the run folder (resuming its results.jsonl), with a live
    table of standings; return every game's entry."""
    from dlcli.go import tournament

    labels = [spec.label for spec in specs]
    done = tournament.load_results(session.run.path / tournament.RESULTS)
    if done:
        session.display.message(f"resuming: {len(done)} games already played")
    columns = ["player", "games", "wins", "losses", "draws", "score %"]

    def rows(results):
        table = tournament.standings(labels, results)
        return [[label, *(table[label][k] for k in ("games", "wins", "losses", "draws", "score"))] for label in labels]

    with session.display.live_table(title, columns) as show:
        def on_game(pairing, entry, results):
            show(rows(results), f"game {len(results)}: {entry['black']} (B) vs {entry['white']} (W): "
                                f"{entry['result']} ({entry['reason']}, {entry['moves']} moves)")

        show(rows(done), "")
        return tournament.play_tournament(specs, games_per_pair=play["games"], folder=session.run.path,
                                          size=play["size"], komi=play["komi"], max_moves=play["max_moves"],
                                          jobs=play["jobs"], on_game=on_game, first_seed=session.seed)


# ----------------------------------------------------------------------------- tournament

def tournament(
    players: Annotated[list[str], typer.Argument(help="Two or more players: network files or run folders, GTP command lines in quotes, 'random'.")],
    play: dict = None,
    search: dict = None,
    common: GlobalOptions = None,
) -> None:
    """A round robin with a live table, ending in a ranking by Elo with error bars (JSON and plot)."""
    if len(players) < 2:
        raise DlcliError("a tournament needs at least two players")
    specs = _players(players, search)
    options = {"players": players, **play, **search}
    with Session("go-tournament", f"{len(specs)}-players", options, common) as session:
        from dlcli import plots
        from dlcli.go import tournament as rounds

        labels = [spec.label for spec in specs]
        results = _play(session, specs, play, title="round robin")
        ranking = rounds.save_ranking(session.run.path, labels, results)
        plots.elo_ranking(ranking, session.run.plots / "elo.png")
        session.display.table("Elo ranking (maximum likelihood; error: 1 standard error)",
                              ["player", "elo", "error", "games", "wins", "losses", "draws", "score %"],
                              [[r["name"], f"{r['elo']:+.0f}", f"±{r['error']:.0f}", r["games"], r["wins"], r["losses"],
                                r["draws"], f"{r['score']:.1f}"] for r in ranking])
        pairs = rounds.crosstable(labels, results)
        session.display.table("points scored by the row's player against the column's (of games played)",
                              ["player", *labels],
                              [[a, *("-" if a == b else f"{pairs[a][b][0]:g}/{pairs[a][b][1]}" for b in labels)]
                               for a in labels])
        session.finish({**_summary(results), "players": labels, "ranking": ranking,
                        "best": ranking[0]["name"], "ranking_file": str(session.run.path / rounds.RANKING)})


# ----------------------------------------------------------------------------- self-play

def selfplay(
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Network file or `dl go train` run folder (default: the newest).")] = None,
    games: Annotated[int, typer.Option(help="Games to play.")] = 10,
    size: Annotated[int, typer.Option(help="Board size (networks of the course play 19).")] = 19,
    komi: Annotated[float, typer.Option(help="Komi.")] = 7.5,
    max_moves: Annotated[Optional[int], typer.Option(help="Stop a game after this many moves and score it (default 2 x size^2).")] = None,
    noise: Annotated[float, typer.Option(help="Share of Dirichlet noise in the root's prior (AlphaZero: 0.25).")] = 0.25,
    temperature_moves: Annotated[int, typer.Option(help="Moves drawn in proportion to visits for this many opening moves.")] = 30,
    search: dict = None,
    common: GlobalOptions = None,
) -> None:
    """The network plays itself with search and noise; games/*.sgf feed `dl go data`."""
    check_range("--games", games, 1)
    check_range("--size", size, 9, 19, high_open=False)
    check_range("--max-moves", max_moves, 1)
    check_range("--noise", noise, 0, 1, high_open=False)
    check_range("--temperature-moves", temperature_moves, 0)
    spec = _network_spec(model, common, search)
    options = {"model": spec.source, "games": games, "size": size, "komi": komi, "max_moves": max_moves,
               "noise": noise, "temperature_moves": temperature_moves, **search}
    with Session("go-selfplay", _file_safe(spec.label), options, common) as session:
        from dlcli.atomic import write_text
        from dlcli.go import selfplay as self_play, sgf

        engine = _engine(spec, seed=session.seed, noise_fraction=noise, temperature=1.0,
                         temperature_moves=temperature_moves)
        folder = session.run.path / "games"
        folder.mkdir(exist_ok=True)
        first = len(list(folder.glob("selfplay-*.sgf")))  # --resume: the games already written stay
        with session.display.live_table("self-play", ["game", "moves", "result", "playouts/move", "s/move"]) as show:
            rows = []
            for index in range(first, games):
                engine.reseed(session.seed, index)  # game k's randomness is (seed, k)'s, resumed or not
                record = self_play.play(engine, size=size, komi=komi, max_moves=max_moves)
                write_text(folder / f"selfplay-{index:04d}.sgf", sgf.write(record))
                info = engine.search_stats()
                rows.append([index + 1, len(record.moves), record.result, info["playouts_per_move"], info["seconds_per_move"]])
                show(rows, f"game {index + 1}/{games}: {len(record.moves)} moves, {record.result}")
        stats = engine.search_stats()
        all_records = [rec for path in sorted(folder.glob("selfplay-*.sgf")) for rec in sgf.read(path)]
        session.finish({"games": len(all_records), "positions": sum(len(r.moves) for r in all_records),
                        "black_wins": sum(r.result.startswith("B+") for r in all_records),
                        "white_wins": sum(r.result.startswith("W+") for r in all_records),
                        "resignations": sum(r.result.endswith("+R") for r in all_records),
                        "mean_moves": round(sum(len(r.moves) for r in all_records) / len(all_records), 1),
                        **stats, "games_folder": str(folder)})


def register(go_app: typer.Typer) -> None:
    go_app.command("gtp", help="Play through GTP version 2 on stdin/stdout (GUIs, controllers, tournaments).")(with_search(gtp))
    go_app.command("match", help="Play two players (networks, GTP engines, random) against each other; SGF and win rate.")(with_games(match))
    go_app.command("tournament", help="Round robin of networks and engines; Elo ranking with error bars; --resume.")(with_games(tournament))
    go_app.command("selfplay", help="A network plays itself with search and noise: records for `dl go data`.")(with_search(selfplay))
