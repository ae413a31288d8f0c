"""Games between two players, refereed by our rules, and matches of many games in parallel processes.

A player is described by a `PlayerSpec` (a network file, a GTP engine command line, or a random
player) that any process can turn into a `Player`; `play_game` referees one game between two
players (every move checked on our own board, area scoring), and `play_match` plays a series with
alternating colours, in worker processes started with "spawn" (TensorFlow does not survive fork).
Nothing here prints: progress is reported through callbacks.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from dlcli import modelfiles, pretrained
from dlcli.errors import DlcliError
from dlcli.go import sgf
from dlcli.go.board import BLACK, DEFAULT_KOMI, PASS, WHITE, Board, IllegalMove, opponent
from dlcli.go.gtp import find_program
from dlcli.go.player import RESIGN, Player, RandomPlayer, result_text

KINDS = ("network", "gtp", "random")
LETTERS = {BLACK: "B", WHITE: "W"}
POLICY_PREFIX = "policy:"  # 'policy:net.h5': the network without search


def default_move_cap(size: int) -> int:
    """Moves (passes included) after which a game is stopped and scored as it stands."""
    return 2 * size * size


# ------------------------------------------------------------------ players

@dataclass(frozen=True)
class PlayerSpec:
    """How to build a player in any process: plain, picklable data.

    kind: 'network' (source: a model file), 'gtp' (source: a command line) or 'random'
    (source: a seed, '' for none); label: a short display name; options: search settings for a
    network (passed to `mcts.make_engine`), ignored by the others.
    """

    kind: str
    source: str
    label: str
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"player kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


def parse_spec(text: str, label: str | None = None, **network_options: Any) -> PlayerSpec:
    """A player from what a user typed: a model file (.h5/.keras), a run folder holding
    model.keras or model.h5, 'default' (the network shipped with the package), 'random' or
    'random:SEED', or a GTP engine command line whose program is on PATH or is an existing file. `network_options` go to the network's search.
    'policy:NETWORK' is that network playing its policy's best move, with no search."""
    text = text.strip()
    if text.startswith(POLICY_PREFIX):
        spec = parse_spec(text[len(POLICY_PREFIX):], label, **network_options)
        if spec.kind != "network":
            raise DlcliError(f"{text!r}: 'policy:' takes a network file or run folder")
        return PlayerSpec("network", spec.source, label or f"{spec.label}-policy", {**spec.options, "playouts": 0})
    if text == pretrained.DEFAULT:  # the network shipped with the package
        return PlayerSpec("network", str(pretrained.go_network()), label or "default", dict(network_options))
    path = Path(text).expanduser()
    if text and path.is_dir():
        model = modelfiles.find(path, what="network",
                                fix="give a model file, a run folder of `dl go train`, 'random' or a GTP command line")
        return PlayerSpec("network", str(model), label or _model_label(model), dict(network_options))
    if text and path.is_file() and path.suffix.lower() in modelfiles.MODEL_SUFFIXES:
        return PlayerSpec("network", str(path), label or _model_label(path), dict(network_options))
    if text == "random" or text.startswith("random:"):
        seed = text.partition(":")[2]
        if seed and not seed.lstrip("-").isdigit():
            raise DlcliError(f"{text!r}: the seed of a random player must be an integer, as in 'random:7'")
        return PlayerSpec("random", seed, label or text)
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise DlcliError(f"{text!r} is not a valid command line ({error})") from None
    if words and (find_program(words[0]) or _runnable_file(words[0])):
        return PlayerSpec("gtp", text, label or _command_label(words))
    raise DlcliError(f"{text!r} is not a player: expected a model file (.h5/.keras), a run folder with "
                     "model.h5, 'random[:SEED]', or a GTP engine command line whose program exists")


def _runnable_file(word: str) -> bool:
    path = Path(word).expanduser()
    return path.is_file() and os.access(path, os.X_OK)


def _model_label(path: Path) -> str:
    """'runs/go-train-resnet-3/model.h5' -> 'go-train-resnet-3'; 'nets/small.h5' -> 'small'."""
    return path.parent.name if path.stem == "model" and path.parent.name else path.stem


def _command_label(words: list[str]) -> str:
    """'gnugo --mode gtp --level 1' -> 'gnugo'; 'python -m dlcli.go.gtp --random' -> 'dlcli.go.gtp'."""
    if "-m" in words[1:-1]:
        return words[words.index("-m") + 1]
    return Path(words[0]).name


def unique_labels(specs: Iterable[PlayerSpec]) -> list[PlayerSpec]:
    """The same specs with distinct labels ('gnugo', 'gnugo#2', ...), as a table needs them."""
    seen: dict[str, int] = {}
    result = []
    for spec in specs:
        count = seen[spec.label] = seen.get(spec.label, 0) + 1
        result.append(spec if count == 1 else PlayerSpec(spec.kind, spec.source, f"{spec.label}#{count}", spec.options))
    labels = [s.label for s in result]
    if len(set(labels)) != len(labels):  # 'x#2' given by hand as well: fall back to numbering all
        result = [PlayerSpec(s.kind, s.source, f"{s.label}@{i + 1}", s.options) for i, s in enumerate(result)]
    return result


def make_player(spec: PlayerSpec, seed: int | None = None) -> Player:
    """Build the player a spec describes. `seed` varies a random player or a network's search from
    game to game (mixed with a seed of the spec's own); a GTP engine is started as it is."""
    if spec.kind == "random":
        return RandomPlayer(_mixed(int(spec.source) if spec.source else None, seed))
    if spec.kind == "gtp":
        from dlcli.go.gtp import GtpPlayer  # imported only when needed
        return GtpPlayer(spec.source, name=spec.label)
    from dlcli.go.mcts import make_engine  # loads TensorFlow: only in the processes that need it
    options = dict(spec.options)
    base = options.pop("seed", None)
    return make_engine(spec.source, seed=_mixed(base, seed) or 0, label=spec.label, **options)


def _mixed(base: int | None, seed: int | None) -> int | None:
    """A spec's own seed varied by the game's (either may be missing)."""
    if base is None:
        return seed
    return base if seed is None else base * 1_000_003 + seed


# ------------------------------------------------------------------ one game

@dataclass
class GameResult:
    """A finished game. `winner` is 'B', 'W' or None (a draw); `result` is SGF style ('B+R',
    'W+3.5', 'B+F' for a forfeit by an illegal move, '0'); `reason` is 'two passes',
    'resignation', 'illegal move', 'refused a legal move' or 'move cap'."""

    black: str
    white: str
    winner: str | None
    result: str
    reason: str
    moves: list[tuple[int, int]]
    size: int
    komi: float
    seconds: float
    score: float | None = None                                        # ours (Black - White - komi)
    engine_scores: dict[str, str | None] = field(default_factory=dict)   # {'B': 'W+2.5', 'W': None}
    scores_agree: dict[str, bool | None] = field(default_factory=dict)   # same winner as ours?
    thinking: dict[str, float] = field(default_factory=dict)             # seconds in genmove per colour
    search: dict[str, dict] = field(default_factory=dict)                # per colour: a search engine's stats
    detail: str = ""                                                     # what the illegal move was

    @property
    def move_count(self) -> int:
        return len(self.moves)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["moves"] = [list(move) for move in self.moves]
        data["move_count"] = self.move_count
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GameResult":
        data = {k: v for k, v in data.items() if k != "move_count"}
        data["moves"] = [tuple(move) for move in data["moves"]]
        return cls(**data)

    def to_record(self) -> sgf.GameRecord:
        return sgf.GameRecord(size=self.size, komi=self.komi, result=self.result, moves=list(self.moves),
                              players={"B": self.black, "W": self.white})

    def sgf(self) -> str:
        return sgf.write(self.to_record())


def _score_value(text: str | None) -> float | None:
    """'B+3.5' -> 3.5, 'W+2' -> -2, '0' -> 0; None for anything else (unscored, resignations)."""
    if text is None:
        return None
    text = text.strip().upper()
    if text in ("0", "DRAW"):
        return 0.0
    if len(text) > 2 and text[0] in "BW" and text[1] == "+":
        try:
            value = float(text[2:])
        except ValueError:
            return None
        return value if text[0] == "B" else -value
    return None


def _same_winner(ours: float, theirs: float | None) -> bool | None:
    if theirs is None:
        return None
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    return sign(ours) == sign(theirs)


def play_game(black: Player, white: Player, *, size: int = 19, komi: float = DEFAULT_KOMI,
              max_moves: int | None = None, black_label: str | None = None, white_label: str | None = None,
              on_move: Callable[[int, int, Board], None] | None = None) -> GameResult:
    """Play one game and referee it on our own board.

    Each turn the side to move is asked for `genmove` and its answer is checked and then told to
    the other player with `play`. An illegal move loses for the player who made it (result 'X+F'),
    a resignation loses ('X+R'), and a player that refuses a move our rules allow loses too. The
    game ends on two passes in a row or after `max_moves` moves (default 2 x size^2), and is then
    scored by area (`Board.score`); both players' `final_score` is recorded next to ours.
    `on_move(colour, move, board)` is called after every accepted move with the referee's board.
    """
    max_moves = default_move_cap(size) if max_moves is None else max_moves
    players = {BLACK: black, WHITE: white}
    labels = {BLACK: black_label or black.name, WHITE: white_label or white.name}
    referee = Board(size, komi)
    for player in players.values():
        player.new_game(size, komi)
    thinking = {BLACK: 0.0, WHITE: 0.0}
    start = time.perf_counter()
    colour, loser, reason, detail = BLACK, None, "", ""
    while True:
        if referee.over:
            reason = "two passes"
            break
        if len(referee.moves) >= max_moves:
            reason = "move cap"
            break
        began = time.perf_counter()
        try:
            move = players[colour].genmove(colour)
            problem = None
        except IllegalMove as error:  # a player whose own board refused the move it chose
            move, problem = None, str(error)
        thinking[colour] += time.perf_counter() - began
        if move == RESIGN:
            loser, reason = colour, "resignation"
            break
        problem = problem or _illegality(referee, move, colour)
        if problem:
            loser, reason = colour, "illegal move"
            detail = f"{LETTERS[colour]} {'chose a move' if move is None else f'played {move!r}'}: {problem}"
            break
        referee.play(move, colour)
        try:
            players[opponent(colour)].play(colour, move)
        except IllegalMove as error:
            loser, reason = opponent(colour), "refused a legal move"
            detail = f"{LETTERS[opponent(colour)]} refused {LETTERS[colour]} {move}: {error}"
            break
        if on_move is not None:
            on_move(colour, move, referee)
        colour = opponent(colour)
    result = GameResult(black=labels[BLACK], white=labels[WHITE], winner=None, result="", reason=reason,
                        moves=list(referee.moves), size=size, komi=float(komi), seconds=0.0, detail=detail,
                        thinking={LETTERS[c]: round(s, 3) for c, s in thinking.items()})
    if loser is not None:
        result.winner = LETTERS[opponent(loser)]
        result.result = f"{result.winner}+{'R' if reason == 'resignation' else 'F'}"
    else:
        score = referee.score()
        result.score = score
        result.result = result_text(score)
        result.winner = None if score == 0 else LETTERS[BLACK if score > 0 else WHITE]
        for c, player in players.items():
            theirs = _final_score(player)
            result.engine_scores[LETTERS[c]] = theirs
            result.scores_agree[LETTERS[c]] = _same_winner(score, _score_value(theirs))
    result.seconds = round(time.perf_counter() - start, 3)
    return result


def _illegality(board: Board, move: Any, colour: int) -> str | None:
    if not isinstance(move, int) or isinstance(move, bool):
        return f"not a move ({type(move).__name__})"
    if move == PASS:
        return None
    return board.legality(move, colour)


def _final_score(player: Player) -> str | None:
    """The player's own count; None where it has none or fails to give one (it is only a check)."""
    try:
        value = player.final_score()
    except Exception:  # noqa: BLE001 - an engine's failure to count must not lose a finished game
        return None
    return None if value is None else str(value)


# ------------------------------------------------------------------ matches

@dataclass
class GameOutcome:
    """One game of a match, as plain picklable data: its index, who was Black, the result and the
    SGF text. `score_a` is A's points: 1 for a win, 0.5 for a draw, 0 for a loss."""

    index: int
    a_black: bool
    result: GameResult
    sgf: str

    @property
    def score_a(self) -> float:
        if self.result.winner is None:
            return 0.5
        return float((self.result.winner == "B") == self.a_black)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "a_black": self.a_black, "score_a": self.score_a,
                "result": self.result.to_dict(), "sgf": self.sgf}


def play_one(spec_a: PlayerSpec, spec_b: PlayerSpec, index: int, size: int, komi: float,
             max_moves: int | None, seed: int) -> GameOutcome:
    """Game `index` of a match (A is Black when the index is even): build both players from their
    specs, play, close them. Runs in a worker process or in this one."""
    a_black = index % 2 == 0
    players: list[Player] = []
    try:
        players.append(make_player(spec_a, seed=2 * seed))
        players.append(make_player(spec_b, seed=2 * seed + 1))
        (black, black_spec), (white, white_spec) = ((players[0], spec_a), (players[1], spec_b)) if a_black \
            else ((players[1], spec_b), (players[0], spec_a))
        result = play_game(black, white, size=size, komi=komi, max_moves=max_moves,
                           black_label=black_spec.label, white_label=white_spec.label)
        result.search = {letter: player.search_stats() for letter, player in (("B", black), ("W", white))
                         if hasattr(player, "search_stats")}  # playouts, time and precision of this game's searches
    finally:
        for player in players:
            player.close()
    return GameOutcome(index, a_black, result, result.sgf())


def _worker_start() -> None:
    """Workers leave Ctrl-C to the parent, which stops them, and end when the parent is gone
    (killed outright, it cannot stop them; they would wait on its queue for ever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def play_match(spec_a: PlayerSpec, spec_b: PlayerSpec, *, games: int, size: int = 19, komi: float = DEFAULT_KOMI,
               max_moves: int | None = None, jobs: int = 1,
               on_game: Callable[[int, GameOutcome], None] | None = None,
               skip: Iterable[int] = (), first_seed: int = 0) -> list[GameOutcome]:
    """Play games 0..games-1 between A and B, except those in `skip` (already played: resume).

    Game i has A as Black when i is even. With `jobs` > 1 the games run in that many worker
    processes (spawned, not forked); `on_game(index, outcome)` is called here, in this process, as
    each game finishes (in completion order). Returns the outcomes sorted by index. Game i's
    random players are seeded from `first_seed + i`. An error in a game stops the match and is
    raised here; Ctrl-C stops the workers at once.
    """
    if games < 0 or jobs < 1:
        raise ValueError("games must be >= 0 and jobs >= 1")
    skipped = set(skip)
    todo = [i for i in range(games) if i not in skipped]
    outcomes: list[GameOutcome] = []

    def finished(outcome: GameOutcome) -> None:
        outcomes.append(outcome)
        if on_game is not None:
            on_game(outcome.index, outcome)

    arguments = lambda i: (spec_a, spec_b, i, size, komi, max_moves, first_seed + i)  # noqa: E731
    if jobs == 1 or len(todo) <= 1:
        for index in todo:
            finished(play_one(*arguments(index)))
    else:
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                       initializer=_worker_start)
        try:
            pending: set[Future] = {executor.submit(play_one, *arguments(i)) for i in todo}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(future.result())
        except BaseException:
            _stop(executor)
            raise
        executor.shutdown(wait=True)
    return sorted(outcomes, key=lambda o: o.index)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (a game in flight is lost)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
