"""Training sets of Go positions: build compressed .npz shards from game records, stream them back.

A game goes whole to training or to validation (as golois keeps its validation games apart),
so no position of a validation game is ever trained on. Shards hold uint8 planes, the policy
index and White's win probability; `manifest.json` lists them. `stream` reads one shard at a
time into a tf.data pipeline (shuffled, optionally augmented by the 8 symmetries), so a training
set larger than memory trains fine.
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from dlcli.errors import DlcliError
from dlcli.go import features, gamesdata, sgf
from dlcli.go.board import PASS
from dlcli.go.sgf import GameRecord, SgfError

MANIFEST = "manifest.json"
FORMAT = "dlcli-go-shards"
SPLITS = ("train", "validation")
DEFAULT_SHARD_SIZE = 20_000
DEFAULT_VALIDATION = 0.1


# ------------------------------------------------------------------ reading game sources

def is_games_data(path: Path, kind: str = "auto") -> bool:
    """Whether `path` is read as golois' games.data (`kind` 'games-data', or 'auto' and it looks so)."""
    return kind == "games-data" or (kind == "auto" and path.is_file() and path.suffix.lower() not in (".sgf", ".zip")
                                    and gamesdata.looks_like(path))


def read_games(paths: Iterable[str | Path], tally: sgf.Tally, *, kind: str = "auto") -> Iterator[GameRecord]:
    """Every game in the given SGF files, folders or zips, or games.data files; bad SGF files
    are skipped and counted in `tally`, a bad games.data file is an error (it is one file)."""
    for path in map(Path, paths):
        if not path.exists():
            raise DlcliError(f"{path}: no such file or folder; give SGF files, a folder or zip of them, or games.data")
        if is_games_data(path, kind):
            games = gamesdata.read(path)
            tally.files += 1
            tally.games += len(games)
            yield from games
        else:
            yield from sgf.read_collection(path, tally, check=False)


def count_files(paths: Iterable[str | Path]) -> int:
    """How many record files the sources hold (for a progress bar's total)."""
    total = 0
    for path in map(Path, paths):
        total += len(sgf.sources(path)) if path.is_dir() or path.suffix.lower() in (".zip", ".sgf") else 1
    return total


def positions(game: GameRecord, encoder=features, *, numbered: bool = False) -> Iterator[tuple]:
    """(planes, policy index, White's win probability) for every non-pass move of a game, and
    with `numbered` the move's number in the game (from 1) as a fourth item.

    Games without a result or win rates give 0.5 as value. Raises SgfError at an illegal move.
    `encoder`: the module with `encode` and `LadderCache` (benchmarks pass an older version)."""
    ladders = encoder.LadderCache()  # ladder readings reused from one position to the next
    for index, (board, colour, point) in enumerate(game.replay()):
        if point == PASS:
            continue
        value = game.white_value(index)
        position = encoder.encode(board, ladders), features.policy_index(point, game.size), 0.5 if value is None else value
        yield (*position, index + 1) if numbered else position


# ------------------------------------------------------------------ writing shards

@dataclass
class _Split:
    name: str
    folder: Path
    shard_size: int
    planes: list = field(default_factory=list)
    policy: list = field(default_factory=list)
    value: list = field(default_factory=list)
    move: list = field(default_factory=list)
    shards: list = field(default_factory=list)
    positions: int = 0
    games: int = 0

    def add(self, planes: np.ndarray, policy: int, value: float, move: int) -> None:
        self.planes.append(planes)
        self.policy.append(policy)
        self.value.append(value)
        self.move.append(move)
        if len(self.planes) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self.planes:
            return
        name = f"{self.name}-{len(self.shards):05d}.npz"
        target = self.folder / name
        temporary = target.with_name(f".{name}")
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, planes=np.stack(self.planes), policy=np.asarray(self.policy, dtype=np.int16),
                                value=np.asarray(self.value, dtype=np.float32), move=np.asarray(self.move, dtype=np.int16))
        temporary.replace(target)
        self.shards.append({"file": name, "positions": len(self.planes)})
        self.positions += len(self.planes)
        self.planes, self.policy, self.value, self.move = [], [], [], []

    def summary(self) -> dict:
        return {"shards": self.shards, "positions": self.positions, "games": self.games}


def is_validation(index: int, fraction: float) -> bool:
    """Whether game `index` goes to validation: spreads exactly `fraction` of the games evenly."""
    return int((index + 1) * fraction) > int(index * fraction)


def build_shards(games: Iterable[GameRecord], folder: str | Path, *, validation: float = DEFAULT_VALIDATION,
                 shard_size: int = DEFAULT_SHARD_SIZE, limit: int | None = None,
                 progress: Callable[[GameRecord], None] | None = None) -> dict:
    """Encode every position of `games` into shards under `folder`; return the manifest.

    Whole games go to validation (`validation` is the fraction of games); a game with an illegal
    move is skipped and counted. `progress(game)` is called after each game."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    splits = {name: _Split(name, folder, shard_size) for name in SPLITS}
    started, bad, sizes, index = time.perf_counter(), [], set(), 0
    for game in games:
        if limit is not None and index >= limit:
            break
        split = splits["validation" if is_validation(index, validation) else "train"]
        try:
            encoded = list(positions(game, numbered=True))
        except SgfError as error:
            bad.append(str(error))
        else:
            for planes, policy, value, move in encoded:
                split.add(planes, policy, value, move)
            split.games += 1
            sizes.add(game.size)
            index += 1
        if progress is not None:
            progress(game)
    for split in splits.values():
        split.flush()
    seconds = time.perf_counter() - started
    if len(sizes) > 1:
        raise DlcliError(f"the games mix board sizes {sorted(sizes)}; build one training set per size")
    total = sum(s.positions for s in splits.values())
    manifest = {"format": FORMAT, "version": 1, "board_size": sizes.pop() if sizes else 19,
                "planes": features.PLANES, "validation_fraction": validation,
                "splits": {name: split.summary() for name, split in splits.items()},
                "games": index, "positions": total, "illegal_games": len(bad), "illegal": bad[:20],
                "encode_seconds": round(seconds, 3), "positions_per_s": round(total / seconds, 1) if seconds else None}
    with open(folder / f".{MANIFEST}", "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
    (folder / f".{MANIFEST}").replace(folder / MANIFEST)
    return manifest


# ------------------------------------------------------------------ reading shards

def find_manifest(path: str | Path) -> Path:
    """The folder holding manifest.json: `path` itself, or its `shards/` subfolder (a run folder)."""
    path = Path(path)
    for folder in (path, path / "shards"):
        if (folder / MANIFEST).is_file():
            return folder
    raise DlcliError(f"{path} holds no {MANIFEST}; build a training set with `dl go data` and pass its run folder")


def load_manifest(path: str | Path) -> tuple[Path, dict]:
    folder = find_manifest(path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DlcliError(f"{folder / MANIFEST} cannot be read ({error}); build the training set again") from None
    if manifest.get("format") != FORMAT:
        raise DlcliError(f"{folder / MANIFEST} is not a dlcli Go training set")
    return folder, manifest


def read_shard(path: Path, *, with_moves: bool = False) -> tuple[np.ndarray, ...]:
    """Planes, policy index and value of a shard; with `with_moves` also each position's move
    number (zeros for shards written before move numbers were kept)."""
    try:
        with np.load(path) as shard:
            columns = shard["planes"], shard["policy"], shard["value"]
            if with_moves:
                columns += (shard["move"] if "move" in shard.files else np.zeros(len(columns[1]), np.int16),)
            return columns
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DlcliError(f"{path}: not a readable shard ({error}); build the training set again") from None


def check_shards(folder: Path, manifest: dict, split: str) -> None:
    """Refuse, before training starts, a split whose shards are missing, truncated or of the
    wrong size: their zip directories are read (cheap), not their contents."""
    for entry in manifest["splits"][split]["shards"]:
        path = folder / entry["file"]
        try:
            with zipfile.ZipFile(path) as archive:
                sizes = {info.filename: info.file_size for info in archive.infolist()}
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise DlcliError(f"{path}: not a readable shard ({error}); build the training set again") from None
        planes = sizes.get("planes.npy", 0)
        if not {"planes.npy", "policy.npy", "value.npy"} <= sizes.keys() or planes < entry["positions"] * manifest["board_size"] ** 2 * manifest["planes"]:
            raise DlcliError(f"{path}: the shard is incomplete (expected {entry['positions']} positions); "
                             "build the training set again")


def load_split(folder: Path, manifest: dict, split: str, limit: int | None = None):
    """A whole split in memory (for small sets and tests): planes, policy index, value."""
    parts = [read_shard(folder / s["file"]) for s in manifest["splits"][split]["shards"]]
    if not parts:
        size = manifest["board_size"]
        return np.zeros((0, size, size, features.PLANES), np.uint8), np.zeros(0, np.int16), np.zeros(0, np.float32)
    planes, policy, value = (np.concatenate(column) for column in zip(*parts))
    return planes[:limit], policy[:limit], value[:limit]


WINDOW = 4  # shards shuffled together: positions of about 500 games mix in each window


class EpochClock:
    """Which epoch `stream`'s next pass is for. Keras sets it through `callback` before each
    epoch, so that epoch e's order and symmetries come from (seed, e) only: a resumed run
    draws the batches an uninterrupted one would have drawn."""

    def __init__(self) -> None:
        self.epoch = 0

    @property
    def callback(self):
        import keras

        clock = self

        class _SetEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.epoch = epoch

        return _SetEpoch()


def batches(folder: Path, manifest: dict, split: str, *, batch_size: int, shuffle: bool, augment: bool,
            rng: np.random.Generator | None, limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(planes uint8, policy index, value) batches of a split, read a window of shards at a time;
    shuffled within each window (shards in random order), and with `augment` each batch under
    one of the 8 symmetries (planes and policy together), all drawn from `rng`."""
    shards = manifest["splits"][split]["shards"]
    order = rng.permutation(len(shards)) if shuffle else np.arange(len(shards))
    points = manifest["board_size"] ** 2
    moved = np.array([[features.transform_point(p, s, manifest["board_size"]) for p in range(points)]
                      for s in range(features.SYMMETRIES)]) if augment else None
    left = np.inf if limit is None else limit
    carried: list[tuple[np.ndarray, ...]] = []
    for start in range(0, len(order), WINDOW):
        parts = carried + [read_shard(folder / shards[i]["file"]) for i in order[start:start + WINDOW]]
        planes, policy, value = (np.concatenate(column) for column in zip(*parts))
        if shuffle:
            keep = rng.permutation(len(policy))
            planes, policy, value = planes[keep], policy[keep], value[keep]
        last = start + WINDOW >= len(order)
        usable = len(policy) if last else len(policy) - len(policy) % batch_size
        carried = [(planes[usable:], policy[usable:], value[usable:])] if usable < len(policy) else []
        for at in range(0, usable, batch_size):
            count = int(min(batch_size, usable - at, left))
            if count <= 0:
                return
            left -= count
            batch = planes[at:at + count], policy[at:at + count].astype(np.int32), value[at:at + count]
            if augment:
                symmetry = int(rng.integers(features.SYMMETRIES))
                batch = (np.ascontiguousarray(features.transform_planes(batch[0], symmetry)),
                         moved[symmetry][batch[1]].astype(np.int32), batch[2])
            yield batch


def stream(folder: Path, manifest: dict, split: str, *, batch_size: int, shuffle: bool = True,
           augment: bool = False, seed: int = 0, limit: int | None = None, repeat: bool = False):
    """A tf.data pipeline of (planes float32, {'policy': one-hot, 'value': [p]}) batches that
    reads a few shards at a time; returns (dataset, batches per epoch, clock). Pass
    `clock.callback` to fit: each epoch's order and symmetries then depend on (seed, epoch)."""
    import tensorflow as tf

    check_shards(folder, manifest, split)
    total = sum(s["positions"] for s in manifest["splits"][split]["shards"])
    if limit is not None:
        total = min(total, limit)
    size = manifest["board_size"]
    clock = EpochClock()

    def generate():
        rng = np.random.default_rng([seed, clock.epoch])
        yield from batches(folder, manifest, split, batch_size=batch_size, shuffle=shuffle, augment=augment,
                           rng=rng, limit=limit)

    signature = (tf.TensorSpec((None, size, size, features.PLANES), tf.uint8),
                 tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.float32))
    data = tf.data.Dataset.from_generator(generate, output_signature=signature)
    points = size * size

    def prepare(planes, policy, value):
        return tf.cast(planes, tf.float32), {"policy": tf.one_hot(policy, points), "value": tf.reshape(value, (-1, 1))}

    data = data.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    steps = -(-total // batch_size)
    data = data.apply(tf.data.experimental.assert_cardinality(steps))
    if repeat:
        data = data.repeat()
    return data.prefetch(tf.data.AUTOTUNE), steps, clock
