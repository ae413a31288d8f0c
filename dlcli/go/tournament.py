"""Round robin tournaments: the schedule, the results log that makes them resumable, standings and
the Elo ranking. Nothing here prints; `play_tournament` reports each game through a callback.

The log, `results.jsonl`, holds one JSON object per finished game, appended and flushed to disk
(fsync) as the game ends, so an interrupted tournament loses at most the games in flight.
Reading it tolerates a truncated last line (the write a kill cut short), and reopening it for
appending cuts that line off first.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from dlcli.atomic import write_json, write_text
from dlcli.errors import DlcliError
from dlcli.go import elo
from dlcli.go.board import DEFAULT_KOMI
from dlcli.go.match import GameOutcome, PlayerSpec, play_match

RESULTS = "results.jsonl"
GAMES = "games"        # the SGF files' folder inside the tournament's folder
RANKING = "ranking.json"


@dataclass(frozen=True)
class Pairing:
    """Game `game` (0-based) between players a and b; a is Black when `game` is even."""

    a: str
    b: str
    game: int

    @property
    def black(self) -> str:
        return self.a if self.game % 2 == 0 else self.b

    @property
    def white(self) -> str:
        return self.b if self.game % 2 == 0 else self.a

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.a, self.b, self.game)


def schedule(labels: Sequence[str], games_per_pair: int) -> list[Pairing]:
    """Every pair (in the order the labels are given) plays `games_per_pair` games, colours
    alternating; the list goes pair by pair, which is the order `play_tournament` plays them."""
    if len(set(labels)) != len(labels):
        raise ValueError("tournament labels must be distinct")
    return [Pairing(a, b, game) for a, b in combinations(labels, 2) for game in range(games_per_pair)]


# ------------------------------------------------------------------ the results log

def result_entry(pairing: Pairing, outcome: GameOutcome, sgf_file: str = "") -> dict[str, Any]:
    """The log line for a finished game."""
    result = outcome.result
    winner = None if result.winner is None else (result.black if result.winner == "B" else result.white)
    return {"pair": [pairing.a, pairing.b], "game": pairing.game, "black": result.black, "white": result.white,
            "winner": winner, "result": result.result, "reason": result.reason, "moves": result.move_count,
            "score_a": outcome.score_a, "seconds": result.seconds, "engine_scores": result.engine_scores,
            "scores_agree": result.scores_agree, "detail": result.detail, "sgf": sgf_file,
            "search": {(result.black if letter == "B" else result.white): stats for letter, stats in result.search.items()}}


def search_summary(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per player that searched: its searched moves, playouts per move and per second, and the
    precision its network was called in (with the int8 twin's check when one was made), over every game of `results` (older logs have none)."""
    totals: dict[str, dict[str, Any]] = {}
    for entry in results:
        for label, stats in (entry.get("search") or {}).items():
            total = totals.setdefault(label, {"moves": 0, "playouts": 0.0, "seconds": 0.0, "precision": set()})
            moves = stats.get("searched_moves", 0)
            total["moves"] += moves
            total["playouts"] += moves * stats.get("playouts_per_move", 0.0)
            total["seconds"] += moves * stats.get("seconds_per_move", 0.0)
            total["precision"].add(stats.get("network_precision"))
            total.setdefault("int8_check", stats.get("int8_check"))  # the same network: the same check
    return {label: {"searched_moves": t["moves"],
                    "playouts_per_move": round(t["playouts"] / t["moves"], 1) if t["moves"] else 0.0,
                    "seconds_per_move": round(t["seconds"] / t["moves"], 3) if t["moves"] else 0.0,
                    "playouts_per_s": round(t["playouts"] / t["seconds"], 1) if t["seconds"] else 0.0,
                    "network_precision": "/".join(sorted(str(p) for p in t["precision"])),
                    "int8_check": t.get("int8_check")}
            for label, t in totals.items()}


def entry_key(entry: dict[str, Any]) -> tuple[str, str, int]:
    a, b = entry["pair"]
    return (a, b, int(entry["game"]))


def load_results(path: str | Path) -> list[dict[str, Any]]:
    """The finished games in a results log ([] when there is none). A last line that is not
    valid JSON (cut short by a kill) is ignored; a bad line before it is an error."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entry_key(entry)
        except (ValueError, KeyError, TypeError):
            if all(not rest.strip() for rest in lines[number:]):
                break  # the truncated last line
            raise DlcliError(f"{path}: line {number} is not a game result; fix or remove the line") from None
        entries.append(entry)
    return entries


class ResultsLog:
    """Appends game results to `results.jsonl`, each line on disk (fsync) before it returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._repair()

    def _repair(self) -> None:
        """Cut a truncated last line, so the next line starts on a line of its own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
                handle.flush()
                os.fsync(handle.fileno())

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def remaining(pairings: Sequence[Pairing], results: Iterable[dict[str, Any]]) -> list[Pairing]:
    """The scheduled games not in the results yet (for --resume), in schedule order."""
    done = {entry_key(entry) for entry in results}
    return [p for p in pairings if p.key not in done]


# ------------------------------------------------------------------ tables

def _games(labels: Sequence[str], results: Iterable[dict[str, Any]]) -> list[tuple[str, str, float]]:
    known = set(labels)
    games = []
    for entry in results:
        a, b = entry["pair"]
        if a in known and b in known:
            games.append((a, b, float(entry["score_a"])))
    return games


def standings(labels: Sequence[str], results: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{label: {games, wins, losses, draws, points, score}} where score is the percentage of points."""
    table = {label: {"games": 0, "wins": 0, "losses": 0, "draws": 0, "points": 0.0, "score": 0.0} for label in labels}
    for a, b, score_a in _games(labels, results):
        for name, score in ((a, score_a), (b, 1 - score_a)):
            row = table[name]
            row["games"] += 1
            row["points"] += score
            row["wins" if score == 1 else "losses" if score == 0 else "draws"] += 1
    for row in table.values():
        row["score"] = round(100 * row["points"] / row["games"], 1) if row["games"] else 0.0
    return table


def crosstable(labels: Sequence[str], results: Iterable[dict[str, Any]]) -> dict[str, dict[str, tuple[float, int]]]:
    """{row: {column: (row's points against column, games)}}: who beat whom."""
    table = {a: {b: (0.0, 0) for b in labels if b != a} for a in labels}
    for a, b, score_a in _games(labels, results):
        points, games = table[a][b]
        table[a][b] = (points + score_a, games + 1)
        points, games = table[b][a]
        table[b][a] = (points + 1 - score_a, games + 1)
    return table


def ranking(labels: Sequence[str], results: Iterable[dict[str, Any]], *, prior: float = 1.0) -> list[dict[str, Any]]:
    """Players sorted best first: name, elo (mean 0), error (standard error), games, wins,
    losses, draws, score (%). See `elo.fit_elo` for the model and the prior."""
    results = list(results)
    ratings = elo.fit_elo(labels, _games(labels, results), prior=prior)
    table = standings(labels, results)
    rows = [{"name": label, "elo": round(ratings[label][0], 1), "error": round(ratings[label][1], 1),
             **{k: table[label][k] for k in ("games", "wins", "losses", "draws", "score")}} for label in labels]
    return sorted(rows, key=lambda row: -row["elo"])


# ------------------------------------------------------------------ playing

def sgf_name(pairing: Pairing) -> str:
    """'games/net-a_vs_gnugo-003.sgf' (labels reduced to file-safe characters)."""
    safe = lambda text: re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "player"  # noqa: E731
    return f"{GAMES}/{safe(pairing.a)}_vs_{safe(pairing.b)}-{pairing.game:03d}.sgf"


def play_tournament(specs: Sequence[PlayerSpec], *, games_per_pair: int, folder: str | Path,
                    size: int = 19, komi: float = DEFAULT_KOMI, max_moves: int | None = None, jobs: int = 1,
                    on_game: Callable[[Pairing, dict[str, Any], list[dict[str, Any]]], None] | None = None,
                    first_seed: int = 0) -> list[dict[str, Any]]:
    """Play the round robin of `specs` (distinct labels), continuing from `folder/results.jsonl`
    where earlier games are logged (resume: only the missing games are played).

    Pairs are played one after the other, the games of a pair in `jobs` processes. Each finished
    game is written to `folder/games/*.sgf` and logged before `on_game(pairing, entry, results)`
    is called (entry: the log line; results: every entry so far, for the live table). Returns all
    entries. Game g of the pair (a, b) number k uses seed first_seed + 1000 * k + g.
    """
    labels = [spec.label for spec in specs]
    by_label = {spec.label: spec for spec in specs}
    folder = Path(folder)
    (folder / GAMES).mkdir(parents=True, exist_ok=True)
    log = ResultsLog(folder / RESULTS)
    results = load_results(log.path)
    pairings = schedule(labels, games_per_pair)
    todo = remaining(pairings, results)
    pairs = list(combinations(labels, 2))
    for number, (a, b) in enumerate(pairs):
        missing = {p.game for p in todo if (p.a, p.b) == (a, b)}
        if not missing:
            continue

        def finished(index: int, outcome: GameOutcome, a: str = a, b: str = b) -> None:
            pairing = Pairing(a, b, index)
            name = sgf_name(pairing)
            write_text(folder / name, outcome.sgf)
            entry = result_entry(pairing, outcome, name)
            log.append(entry)
            results.append(entry)
            if on_game is not None:
                on_game(pairing, entry, results)

        play_match(by_label[a], by_label[b], games=games_per_pair, size=size, komi=komi, max_moves=max_moves,
                   jobs=jobs, on_game=finished, skip=set(range(games_per_pair)) - missing,
                   first_seed=first_seed + 1000 * number)
    return results


def save_ranking(folder: str | Path, labels: Sequence[str], results: Iterable[dict[str, Any]],
                 *, prior: float = 1.0) -> list[dict[str, Any]]:
    """Write `folder/ranking.json` (atomically) and return the ranking."""
    rows = ranking(labels, results, prior=prior)
    write_json(Path(folder) / RANKING, rows)
    return rows
