"""PUCT search (AlphaGo Zero style) with a policy/value network, and the engine that plays with it.

Every node is a position; its arrays hold the statistics of its moves seen from its side to move:
prior P (the network's policy, renormalised over the moves considered), visits N and value sum W
(win probabilities in [0, 1]). A playout descends by the PUCT rule

    Q(a) + c_puct * P(a) * sqrt(sum N) / (1 + N(a)),   Q(a) = W(a) / N(a),

to a position not yet evaluated, which waits in a batch; pending paths carry a virtual loss so that
the next playouts of the same batch look elsewhere. A batch goes through the network in one call of
a compiled function; each leaf is expanded with its policy and its value (the network's White win
probability, turned to the side to move) is backed up, flipped at every ply. A finished game (two
passes) is valued exactly by area scoring, without the network.

Moves considered: the legal points that do not fill one's own eye (`player.sensible_moves`); pass
only when there is none or the opponent has just passed (then passing ends the game, and the
search sees at once whether that wins). The network has no pass output.

Time: a timed search asks a `timing.Stopper` after every batch whether to go on (it stops early on
a decided move, extends an unclear one up to its maximum); the engine takes each move's target and
maximum from the GTP clock (`timing.allocate`) and counts the time it spends.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from dlcli import lowprecision, modelfiles, onnxnet, pretrained
from dlcli.errors import DlcliError
from dlcli.go import calibration, features, timing
from dlcli.go.board import PASS, WHITE, Board
from dlcli.go.constants import FIRST_PLAY_REDUCTION, PASS_PRIOR
from dlcli.go.player import RESIGN, Player, sensible_moves



class BoardSizeError(DlcliError):
    """A network's input fixes its board size (the course's: 19x19)."""


@dataclass(frozen=True)
class Settings:
    """How the engine searches and chooses. `seconds` and `playouts` bound each move's search
    (whichever comes first; playouts=0 plays the network's policy alone, with no search). `seconds`
    is a cap, never passed: a timed search stops sooner when its move is decided, and under a GTP
    clock it spends what `timing.allocate` gives, within the cap."""

    seconds: float | None = 2.0
    playouts: int | None = None
    batch_size: int = 8
    c_puct: float = 1.5
    virtual_loss: int = 3
    noise_fraction: float = 0.0          # self-play: 0.25 of the root's prior is Dirichlet noise
    dirichlet_alpha: float = 0.03
    temperature: float = 0.0             # self-play: 1.0 (moves drawn in proportion to visits)
    temperature_moves: int = 30          # ... during the game's first moves only
    resign_threshold: float = 0.05       # resign when the side to move's win chance stays below this
    resign_moves: int = 3                # ... for this many of its moves in a row
    resign_after: int = 60               # ... and never before this many moves of the game
    reuse_tree: bool = True
    pass_after: int | None = None        # pass is a move of every node from this move of the game on
                                         # (None: only after the opponent's pass or with nothing left)
    symmetries: bool = True              # each evaluation sees one of the 8 board symmetries at random

    def __post_init__(self):
        if self.seconds is None and self.playouts is None:
            raise ValueError("a search needs seconds or playouts")
        if self.batch_size < 1 or self.c_puct <= 0 or self.virtual_loss < 0:
            raise ValueError("batch_size >= 1, c_puct > 0 and virtual_loss >= 0 are required")
        if self.pass_after is not None and self.pass_after < 0:
            raise ValueError("pass_after >= 0 is required")


class Evaluator(Protocol):
    """Positions in, (policy over the board's points (n, size*size), White's win probability (n,)) out."""

    def __call__(self, boards: list[Board]) -> tuple[np.ndarray, np.ndarray]: ...


class NetworkEvaluator:
    """A course network (31 planes in; a 361-way policy and White's win probability out) behind one
    compiled call: one trace for every batch size, no `model.predict` per position.

    `precision`: 'float32' (the network as trained; what `dl go eval` scores), 'bfloat16' (a twin
    computing in bfloat16: `lowprecision.bfloat16_twin`), 'int8' (an ONNX Runtime session with
    int8 convolutions, calibrated on half of the network's own self-play positions: `dlcli.onnxnet`).
    A precision that cannot be built for this network falls back to bfloat16 where the hardware
    computes it, else float32. `self.precision` says what the calls use, and `self.int8_check` how
    the int8 twin compared with float32 on the other half of those positions, when one was made."""

    def __init__(self, model, *, symmetries: bool = True, seed: int = 0, precision: str = "float32"):
        self.model = model
        self.policy_output, self.value_output = _head_positions(model)
        self.symmetries = symmetries
        self.rng = np.random.default_rng(seed)
        self.size = int(model.inputs[0].shape[1])
        self.int8_check: dict | None = None
        self.precision, self._forward = self._compiled(model, precision)
        self.positions = 0

    def _compiled(self, model, precision: str) -> tuple[str, Callable]:
        if precision == "int8":
            exported = onnxnet.network(model)  # float32 ONNX Runtime: plays the calibration games
            if exported is not None:
                planes = calibration.self_play_planes(lambda x: exported(x)[self.policy_output], size=self.size)
                twin = exported.quantised(planes[0::2])  # calibrated on half, checked on the other half
                self.int8_check = self._compare(exported(planes[1::2]), twin(planes[1::2]))
                return "int8", twin
            precision = "bfloat16" if lowprecision.hardware_has_bfloat16() else "float32"
        import tensorflow as tf

        # bfloat16: the calls go to a twin computing in bfloat16 (float32 outputs), when it can be built
        computing = (lowprecision.bfloat16_twin(model) if precision == "bfloat16" else None) or model
        signature = [tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32)]
        return ("float32" if computing is model else "bfloat16",
                tf.function(lambda planes: computing(planes, training=False), input_signature=signature,
                            reduce_retracing=True))

    def _compare(self, exact: list, twin: list) -> dict[str, float]:
        """How often `twin`'s most probable move is `exact`'s, and their mean value difference."""
        policy, value = self.policy_output, self.value_output
        same = np.argmax(exact[policy].reshape(len(exact[policy]), -1), axis=1) == np.argmax(
            twin[policy].reshape(len(twin[policy]), -1), axis=1)
        difference = np.abs(np.asarray(exact[value], np.float64) - np.asarray(twin[value], np.float64))
        return {"positions": int(len(same)), "same_top_move": round(float(same.mean()), 4),
                "mean_value_difference": round(float(difference.mean()), 4)}

    def predict(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(policy, White's win) for a batch of encoded planes, as they are (no symmetry)."""
        outputs = self._forward(np.asarray(planes, dtype=np.float32))
        return (np.asarray(outputs[self.policy_output]).reshape(len(planes), -1),
                np.asarray(outputs[self.value_output]).reshape(len(planes)))

    def __call__(self, boards: list[Board]) -> tuple[np.ndarray, np.ndarray]:
        planes = np.stack([features.encode(board) for board in boards]).astype(np.float32)
        chosen = self.draw_symmetries(len(boards))
        for index, symmetry in enumerate(chosen):
            planes[index] = features.transform_planes(planes[index], symmetry)
        return self.evaluate_planes(planes, chosen)

    def draw_symmetries(self, count: int) -> np.ndarray:
        """The symmetry each of `count` positions is seen under (all 0 without `symmetries`)."""
        return self.rng.integers(features.SYMMETRIES, size=count) if self.symmetries else np.zeros(count, int)

    def evaluate_planes(self, planes: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`__call__` for planes already encoded and turned by the symmetries `chosen` (float32,
        (n, size, size, 31)): the policy comes back turned back to the board as it is."""
        outputs = self._forward(planes)
        policy = np.asarray(outputs[self.policy_output], dtype=np.float64).reshape(len(planes), -1)
        value = np.asarray(outputs[self.value_output], dtype=np.float64).reshape(len(planes))
        self.positions += len(planes)
        return np.take_along_axis(policy, features.symmetry_targets(self.size)[chosen], axis=1), value


def _head_positions(model) -> tuple[int, int]:
    """Which output is the policy (size*size wide) and which the value (one number); students'
    files may list them in either order and may have lost their names."""
    widths = [int(np.prod(output.shape[1:])) for output in model.outputs]
    if len(widths) != 2 or 1 not in widths:
        raise ValueError(f"a Go network has two outputs, a policy and a value of 1; this one has {widths}")
    value = widths.index(1)
    return 1 - value, value


class Node:
    """A position in the tree: its moves and their statistics from its side to move's view."""

    __slots__ = ("moves", "priors", "visits", "values", "children", "pending")

    def __init__(self) -> None:
        self.moves: np.ndarray | None = None  # None until expanded
        self.priors = self.visits = self.values = None
        self.children: list[Node | None] = []
        self.pending = False

    @property
    def expanded(self) -> bool:
        return self.moves is not None

    def expand(self, board: Board, policy: np.ndarray, pass_after: int | None = None) -> None:
        """The sensible moves with the policy renormalised over them; pass as well (with PASS_PRIOR
        of the prior) after the opponent's pass, or from move `pass_after` of the game on, when
        passing twice ends the game and is scored exactly: so the search sees when a game is over."""
        moves = sensible_moves(board)
        priors = policy[moves] if moves else np.zeros(0)
        total = priors.sum()
        priors = priors / total if total > 0 else np.full(len(moves), 1 / max(len(moves), 1))
        if not moves:
            moves, priors = [PASS], np.ones(1)
        elif board.passes == 1 or (pass_after is not None and len(board.moves) >= pass_after):
            moves, priors = moves + [PASS], np.append(priors * (1 - PASS_PRIOR), PASS_PRIOR)
        self.moves = np.asarray(moves, dtype=np.int64)
        self.priors = np.asarray(priors, dtype=np.float64)
        self.visits = np.zeros(len(moves))
        self.values = np.zeros(len(moves))
        self.children = [None] * len(moves)

    def value(self) -> float | None:
        """The side to move's win probability as the search sees it (None before any visit)."""
        visits = self.visits.sum() if self.expanded else 0
        return float(self.values.sum() / visits) if visits else None

    def child(self, move: int) -> "Node | None":
        if not self.expanded:
            return None
        hits = np.flatnonzero(self.moves == move)
        return self.children[hits[0]] if len(hits) else None


@dataclass
class SearchResult:
    """What one search found: the root's moves with their visits and values, and the root value."""

    moves: np.ndarray
    visits: np.ndarray
    values: np.ndarray
    priors: np.ndarray
    value: float        # the side to move's win probability (visit-weighted)
    playouts: int       # playouts of this search (not counting visits kept from earlier searches)
    seconds: float
    evaluations: int
    stop: str = ""      # why the search stopped: see `timing.Stopper` ('exhausted': no playout left to make)

    def best(self) -> int:
        """The most visited move; ties go to the better value."""
        mean = np.divide(self.values, self.visits, out=np.zeros_like(self.values), where=self.visits > 0)
        return int(self.moves[np.lexsort((mean, self.visits))[-1]])

    def sample(self, temperature: float, rng: np.random.Generator) -> int:
        if temperature <= 0 or self.visits.sum() == 0:
            return self.best()
        weights = self.visits ** (1 / temperature)
        return int(rng.choice(self.moves, p=weights / weights.sum()))


class Search:
    """The tree of one game, reused from move to move."""

    def __init__(self, evaluator: Evaluator, settings: Settings, *, seed: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        self.evaluate = evaluator
        self.settings = settings
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.root = self._fresh_root()
        self.root_key: tuple | None = None
        self.batch_seconds = 0.0  # how long the last batch took (the next is expected to take as long)

    def reset(self) -> None:
        self.root, self.root_key = self._fresh_root(), None

    def warm_up(self, size: int) -> None:
        """Two untimed batches on an empty board of `size`: the first pays for what runs once (compiling
        the playout code, the network's first call), the second measures `batch_seconds` as a timed
        search will find it. The tree and the random streams are left as they were, so a game played
        after a warm-up is the game played without one."""
        streams = [stream for stream in (self.rng, getattr(self.evaluate, "rng", None))
                   if isinstance(stream, np.random.Generator)]
        states = [stream.bit_generator.state for stream in streams]
        for _ in range(2):  # a batch each: playouts=batch_size stops the search after its first batch
            self.run(Board(size), playouts=self.settings.batch_size, budget=timing.Budget(math.inf, math.inf))
        for stream, state in zip(streams, states):
            stream.bit_generator.state = state
        self.reset()

    def advance(self, board: Board, move: int) -> None:
        """Keep the subtree below `move` (played on `board`, which is now the position after it)."""
        child = self.root.child(move) if self.settings.reuse_tree and self.root_key is not None else None
        self.root = child if child is not None else self._fresh_root()
        self.root_key = _key(board)

    def run(self, board: Board, *, seconds: float | None = None, playouts: int | None = None,
            budget: timing.Budget | None = None) -> SearchResult:
        """Search from `board` (not changed) within the budget: `budget` (a target and a maximum in
        seconds), else `seconds` as both, else the settings' `seconds`; and the playouts, else the
        settings'. A timed search stops when a `timing.Stopper` says so; the result says why."""
        settings = self.settings
        playouts = settings.playouts if playouts is None else playouts
        if budget is None:
            seconds = settings.seconds if seconds is None else seconds
            budget = None if seconds is None else timing.Budget(seconds, seconds)
        stopper = timing.Stopper(budget)
        started = self.clock()
        if self.root_key != _key(board):
            self.root = self._fresh_root()
        self.root_key = _key(board)
        evaluations, done, stop = 0, 0, None
        if not self.root.expanded:
            self._expand_root(board)
            evaluations += 1
        noise = self._noise()
        while stop is None:
            before = self.clock()
            wanted = settings.batch_size if playouts is None else min(settings.batch_size, playouts - done)
            batch, finished = self._gather(board, wanted, noise)
            done += finished + len(batch)
            if batch:
                self._expand(batch)
                evaluations += len(batch)
            elif not finished:  # every playout collided: the tree is exhausted for now
                stop = "exhausted"
                break
            now = self.clock()
            self.batch_seconds = now - before
            stop = stopper.check(self.root.visits, self.root.values, elapsed=now - started, playouts=done,
                                 playouts_left=None if playouts is None else playouts - done,
                                 batch_seconds=self.batch_seconds)
        root = self.root
        return SearchResult(moves=root.moves.copy(), visits=root.visits.copy(), values=root.values.copy(),
                            priors=root.priors.copy(), value=root.value() if root.value() is not None else 0.5,
                            playouts=done, seconds=self.clock() - started, evaluations=evaluations, stop=stop)

    def _fresh_root(self) -> Node:
        """A root with no statistics (the tree kept so far is dropped)."""
        return Node()

    def _expand_root(self, board: Board) -> None:
        self._expand([(self.root, board.copy(), [])])

    def _noise(self) -> np.ndarray | None:
        settings, root = self.settings, self.root
        if settings.noise_fraction <= 0 or len(root.moves) < 2:
            return None
        noise = self.rng.dirichlet([settings.dirichlet_alpha] * len(root.moves))
        return (1 - settings.noise_fraction) * root.priors + settings.noise_fraction * noise

    def _gather(self, root_board: Board, wanted: int, noise) -> tuple[list, int]:
        """Descend up to `wanted` playouts; return the leaves to evaluate and how many playouts
        ended in a finished game (backed up at once)."""
        batch, finished, collisions = [], 0, 0
        while len(batch) + finished < wanted and collisions < wanted:
            node, board, path = self.root, root_board.copy(), []
            while node.expanded and not board.over:
                index = self._select(node, noise if node is self.root else None)
                path.append((node, index))
                node.visits[index] += self.settings.virtual_loss
                board.play(int(node.moves[index]))
                if node.children[index] is None:
                    node.children[index] = Node()
                node = node.children[index]
            if board.over:
                winner = board.winner()
                self._backup(path, 0.5 if winner is None else float(winner == board.to_move))
                finished += 1
            elif node.pending:
                self._backup(path, None)
                collisions += 1
            else:
                node.pending = True
                batch.append((node, board, path))
        return batch, finished

    def _select(self, node: Node, noise: np.ndarray | None) -> int:
        visits = node.visits
        total = visits.sum()
        parent = node.values.sum() / total if total else 0.5
        first_play = max(parent - FIRST_PLAY_REDUCTION, 0.0)
        q = np.divide(node.values, visits, out=np.full(len(visits), first_play), where=visits > 0)
        priors = node.priors if noise is None else noise
        u = self.settings.c_puct * priors * math.sqrt(total + 1) / (1 + visits)
        return int(np.argmax(q + u))

    def _expand(self, batch: list) -> None:
        policy, white = self.evaluate([board for _, board, _ in batch])
        for (node, board, path), prior, white_value in zip(batch, policy, white):
            node.expand(board, prior, self.settings.pass_after)
            node.pending = False
            self._backup(path, float(white_value) if board.to_move == WHITE else 1 - float(white_value))

    def _backup(self, path: list, leaf_value: float | None) -> None:
        """Undo the virtual loss along `path` and add the leaf's value (for the leaf's side to move),
        flipped at every ply; with None only undo (a collision)."""
        loss = self.settings.virtual_loss
        value = None if leaf_value is None else 1 - leaf_value  # for the side that moved into the leaf
        for node, index in reversed(path):
            node.visits[index] -= loss
            if value is not None:
                node.visits[index] += 1
                node.values[index] += value
                value = 1 - value


class _TreeNode:
    """A node of `CompiledSearch`'s arrays, seen as a `Node` (the root, for `Search.run` and engines)."""

    def __init__(self, search: "CompiledSearch", index: int):
        self.search, self.index = search, index

    @property
    def expanded(self) -> bool:
        return self.search.tree[self.index, 1] >= 0

    def _edges(self, which: int) -> np.ndarray:
        first, count = self.search.tree[self.index, :2]
        return self.search.edges[which][first:first + max(count, 0)]

    moves = property(lambda self: self._edges(0))
    priors = property(lambda self: self._edges(1))
    visits = property(lambda self: self._edges(2))
    values = property(lambda self: self._edges(3))
    value = Node.value

    def child(self, move: int) -> "_TreeNode | None":
        hits = np.flatnonzero(self.moves == move)
        child = self._edges(4)[hits[0]] if len(hits) else -1
        return _TreeNode(self.search, int(child)) if child >= 0 else None


class CompiledSearch(Search):
    """`Search` with its tree in arrays and its playouts compiled (`dlcli.go.compiled`): the same
    statistics, so the same moves, many times faster. The leaves of a batch are encoded in compiled
    code too when the evaluator takes planes (`NetworkEvaluator.evaluate_planes`); any other
    evaluator gets `Board`s replayed along each leaf's path."""

    MAX_DEPTH = 512  # plies a playout may descend below the root

    def __init__(self, evaluator: Evaluator, settings: Settings, *, seed: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        from dlcli.go import compiled

        self.compiled = compiled
        self.tree = np.zeros((0, 4), np.int64)
        self.edges: tuple = ()
        self.size = 0
        super().__init__(evaluator, settings, seed=seed, clock=clock)

    def _fresh_root(self) -> _TreeNode:
        self.tree = np.zeros((max(len(self.tree), 1024), 4), np.int64)
        self.tree[0, :3] = 0, -1, 0  # first edge, edge count (not expanded), pending
        self.tree[0, 3], self.tree[1, 3] = 1, 0  # nodes and edges in use
        self.edges = self.edges or _new_edges(1 << 16)
        return _TreeNode(self, 0)

    def advance(self, board: Board, move: int) -> None:
        super().advance(board, move)
        if self.root.index != 0:  # keep the subtree below the move, in fresh arrays
            tree, edges = np.zeros_like(self.tree), _new_edges(len(self.edges[0]))
            self.compiled._keep(self.tree, self.edges, self.root.index, tree, edges)
            self.tree, self.edges, self.root = tree, edges, _TreeNode(self, 0)

    def run(self, board: Board, *, seconds: float | None = None, playouts: int | None = None,
            budget: timing.Budget | None = None) -> SearchResult:
        compiled = self.compiled
        if board.size != self.size:
            self.size = board.size
            n, slots = board.points, self.settings.batch_size
            self.slots = (np.zeros((slots, 8 * n + 5), np.int32), np.zeros((slots, n * compiled.WORDS + 1), np.uint64),
                          np.zeros((slots, self.MAX_DEPTH), np.int64), np.zeros((slots, self.MAX_DEPTH), np.uint64),
                          np.zeros(slots, np.int64), np.zeros(slots, np.int64))
        self.board = board
        self.state = compiled.state_of(board)
        self.seen = compiled.seen_array(board)
        return super().run(board, seconds=seconds, playouts=playouts, budget=budget)

    def _expand_root(self, board: Board) -> None:
        ints, bits, _, _, depths, leaves = self.slots
        self._reserve(1)
        ints[0], bits[0] = self.state
        depths[0], leaves[0] = 0, self.root.index
        self._expand(range(1))

    def _gather(self, root_board: Board, wanted: int, noise) -> tuple[range, int]:
        compiled, settings = self.compiled, self.settings
        self._reserve(wanted)
        neighbours, _, zobrist = compiled.tables(root_board.size)
        count, finished = compiled._gather(
            self.tree, self.edges, self.root.index, wanted, np.zeros(0) if noise is None else noise, settings.c_puct,
            settings.virtual_loss, root_board.komi, *self.state, root_board.size, neighbours, zobrist, *self.slots,
            compiled.scratch().journal)
        return range(count), finished

    def _expand(self, batch: range) -> None:
        compiled, board = self.compiled, self.board
        policy, white = self._evaluate(len(batch))
        neighbours, diagonals, zobrist = compiled.tables(board.size)
        compiled._expand(self.tree, self.edges, len(batch), np.ascontiguousarray(policy, np.float64),
                         np.asarray(white, np.float64), board.size, neighbours, diagonals, zobrist, self.seen,
                         *self.slots, self.settings.virtual_loss,
                         -1 if self.settings.pass_after is None else self.settings.pass_after, len(board.moves))

    def _evaluate(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(policy, White's win) of slots 0..count-1."""
        compiled, board, evaluator = self.compiled, self.board, self.evaluate
        if not hasattr(evaluator, "evaluate_planes"):
            return evaluator([self._replayed(slot) for slot in range(count)])
        chosen = evaluator.draw_symmetries(count)
        planes = np.zeros((count, board.points, features.PLANES), np.float32)
        work = compiled.scratch()
        neighbours, _, zobrist = compiled.tables(board.size)
        ints, bits, _, hashes, depths, _ = self.slots
        compiled._encode_slots(count, ints, bits, board.size, features.komi_plane(board.komi), neighbours, zobrist,
                               self.seen, hashes, depths, work.journal, work.line, work.frames, work.takes,
                               features.symmetry_targets(board.size)[chosen], planes)
        return evaluator.evaluate_planes(planes.reshape(count, board.size, board.size, features.PLANES), chosen)

    def _replayed(self, slot: int) -> Board:
        """The `Board` of a slot's leaf: the root with the moves of its path played."""
        _, _, paths, _, depths, _ = self.slots
        board = self.board.copy()
        for edge in paths[slot, :depths[slot]]:
            board.play(int(self.edges[0][edge]))
        return board

    def _reserve(self, playouts: int) -> None:
        """Room for `playouts` more leaves: one node and at most a move per point (and pass) each."""
        nodes, edges = self.tree[0, 3], self.tree[1, 3]
        if nodes + playouts + 1 >= len(self.tree):
            self.tree = np.concatenate([self.tree, np.zeros_like(self.tree)])
        needed = edges + (playouts + 1) * (self.board.points + 1)
        if needed >= len(self.edges[0]):
            grown = _new_edges(max(2 * len(self.edges[0]), needed))
            for old, new in zip(self.edges, grown):
                new[:len(old)] = old
            self.edges = grown


def _new_edges(count: int) -> tuple:
    """Edge arrays of `CompiledSearch`: move, prior, visits, value sum, child node."""
    return (np.zeros(count, np.int32), np.zeros(count), np.zeros(count), np.zeros(count), np.full(count, -1, np.int64))


def new_search(evaluator: Evaluator, settings: Settings, *, seed: int = 0) -> Search:
    """The compiled search when `dlcli.go.compiled` is enabled, else the pure-Python one."""
    from dlcli.go import compiled

    return (CompiledSearch if compiled.enabled() else Search)(evaluator, settings, seed=seed)


def _key(board: Board) -> tuple:
    return board.hash, len(board.moves), board.to_move, board.passes


@dataclass
class MoveInfo:
    """What the engine knew when it chose a move (self-play records it)."""

    move: int
    value: float              # the side to move's win probability at the root
    white_win: float          # the same, for White
    playouts: int
    seconds: float
    stop: str = ""            # why the search stopped (`SearchResult.stop`); 'policy' / 'no time': no search


class Engine(Player):
    """A network and a PUCT search playing Go: the player behind `dl go gtp`, matches and self-play."""

    name = "dlcli"

    def __init__(self, evaluator: Evaluator, settings: Settings = Settings(), *, seed: int = 0, label: str = "dlcli"):
        super().__init__()
        self.settings = settings
        self.search = new_search(evaluator, settings, seed=seed)
        self.rng = np.random.default_rng(seed + 1)
        self.name = label
        self.sizes = (evaluator.size,) if hasattr(evaluator, "size") else range(9, 20)  # boards it can play
        self.low_values: dict[int, int] = {}  # per colour: its own moves in a row with a hopeless value
        self.last: MoveInfo | None = None
        self.searched = {"moves": 0, "playouts": 0, "seconds": 0.0, "stops": {}}
        self.time_control = timing.TimeControl()      # the game's clock, as GTP set it (none by default)
        self.clocks: dict[int, timing.ClockState] = {}  # each colour's time left
        self.warm_sizes: set[int] = set()  # board sizes the search has warmed up on (`Search.warm_up`)

    def reseed(self, *key: int) -> None:
        """Restart every random stream (noise, move sampling, symmetries) from `key`, such as
        (seed, game index): each game's randomness is then its own, and self-play resumed at game
        k plays the games an uninterrupted run would have played."""
        self.search.rng = np.random.default_rng([*key, 0])
        self.rng = np.random.default_rng([*key, 1])
        if hasattr(self.search.evaluate, "rng"):
            self.search.evaluate.rng = np.random.default_rng([*key, 2])

    def new_game(self, size: int = 19, komi: float = 7.5) -> None:
        if size not in self.sizes:
            raise BoardSizeError(f"{self.name} plays {' or '.join(f'{n}x{n}' for n in self.sizes)} boards only, "
                                 f"not {size}x{size}; choose --size {max(self.sizes)}")
        super().new_game(size, komi)
        self.search.reset()
        self.low_values, self.last, self.clocks = {}, None, {}  # a new game: fresh clocks too
        if self.settings.playouts != 0 and size not in self.warm_sizes:  # before any clock runs
            self.search.warm_up(size)
            self.warm_sizes.add(size)

    def play(self, colour: int, point: int) -> None:
        super().play(colour, point)
        self.search.advance(self.board, point)

    def undo(self) -> None:
        super().undo()
        self.search.reset()

    def choose(self, colour: int) -> int:
        board, started = self.board, self.search.clock()
        budget = self.budget(colour)
        if self.settings.playouts == 0:
            move = self._policy_move(board)  # no search: the network's value decides resignation
        elif budget is not None and budget.maximum < self._first_batch_seconds(board):
            move = self._policy_move(board, stop="no time")  # not even one batch fits: the network alone
            # that call measured the network again: one slow batch (a first call, a busy machine) must
            # not keep every later move from searching
            self.search.batch_seconds = min(self.search.batch_seconds, self.search.clock() - started)
        else:
            self._search_move(board, colour, budget)
            move = self.last.move
        move = RESIGN if self._resigns(colour, self.last.value) else move
        if self.time_control.kind != "none":  # counted here too (with the lag we cannot see) if no time_left comes
            taken = self.search.clock() - started + timing.OVERHEAD_S
            self.clocks[colour] = timing.spend(self.time_control, self._clock(colour), taken)
        return move

    def _first_batch_seconds(self, board: Board) -> float:
        """What the least search costs, as the last batch measured it: one batch, and one more
        network call when the root is not yet expanded."""
        search = self.search
        kept = search.root_key == _key(board) and search.root.expanded
        return max(search.batch_seconds * (1 if kept else 2), timing.MIN_SEARCH_S)

    def budget(self, colour: int) -> timing.Budget | None:
        """This move's search time: the clock's allocation (when GTP set a clock) under the per-move
        `seconds` cap, or `seconds` alone; None when only playouts bound the search."""
        seconds = self.settings.seconds
        if self.time_control.kind == "none":
            return None if seconds is None else timing.Budget(seconds, seconds)
        board = self.board
        return timing.allocate(self.time_control, self._clock(colour), board.size, len(board.moves)).capped(seconds)

    def _search_move(self, board: Board, colour: int, budget: timing.Budget | None) -> SearchResult:
        result = self.search.run(board, budget=budget)
        early = len(board.moves) < self.settings.temperature_moves
        move = result.sample(self.settings.temperature if early else 0.0, self.rng)
        self.searched["moves"] += 1
        self.searched["playouts"] += result.playouts
        self.searched["seconds"] += result.seconds
        self.searched["stops"][result.stop] = self.searched["stops"].get(result.stop, 0) + 1
        white_win = result.value if colour == WHITE else 1 - result.value
        self.last = MoveInfo(move, result.value, white_win, result.playouts, result.seconds, result.stop)
        return result

    def search_stats(self) -> dict[str, float | dict[str, int]]:
        """Playouts and seconds per searched move, playouts per second, and how many searches stopped
        for each reason (`SearchResult.stop`), over the engine's life, and the precision its network
        is called in (`NetworkEvaluator.precision`)."""
        moves, playouts, seconds = self.searched["moves"], self.searched["playouts"], self.searched["seconds"]
        return {"network_precision": getattr(self.search.evaluate, "precision", None),
                "int8_check": getattr(self.search.evaluate, "int8_check", None), "searched_moves": moves, "playouts_per_move": round(playouts / moves, 1) if moves else 0.0,
                "seconds_per_move": round(seconds / moves, 3) if moves else 0.0,
                "playouts_per_s": round(playouts / seconds, 1) if seconds else 0.0,
                "search_stops": dict(sorted(self.searched["stops"].items()))}

    def _resigns(self, colour: int, value: float) -> bool:
        """Resign only when the value (the search's, or the network's own when it plays without
        search) stayed below the threshold for several of the colour's own moves in a row, and never
        early. Counted per colour: in self-play the engine plays both, and the winner's moves between
        the loser's must not reset the loser's count."""
        settings = self.settings
        low = self.low_values[colour] = self.low_values.get(colour, 0) + 1 if value < settings.resign_threshold else 0
        return (settings.resign_threshold > 0 and low >= settings.resign_moves
                and len(self.board.moves) >= settings.resign_after)

    def _policy_move(self, board: Board, stop: str = "policy") -> int:
        """The network's most probable sensible move, no search; passes as the search would: when
        nothing sensible is left, or when the opponent passed and the position wins as it stands."""
        policy, white = self.search.evaluate([board])
        moves = sensible_moves(board)
        if not moves or (board.passes == 1 and board.winner() == board.to_move):
            move = PASS
        else:
            move = moves[int(np.argmax(policy[0][moves]))]
        value = float(white[0]) if board.to_move == WHITE else 1 - float(white[0])
        self.last = MoveInfo(move, value, float(white[0]), 0, 0.0, stop)
        return move

    def set_time_control(self, control: timing.TimeControl) -> None:
        """GTP `time_settings` / `kgs-time_settings`: both colours' clocks start afresh."""
        self.time_control, self.clocks = control, {}

    def time_left(self, colour: int, seconds: float, stones: int) -> None:
        if self.time_control.kind != "none":
            self.clocks[colour] = timing.update(self.time_control, self._clock(colour), seconds, stones)

    def _clock(self, colour: int) -> timing.ClockState:
        return self.clocks.get(colour) or timing.ClockState.start(self.time_control)


def load_network(path: str | Path):
    """A course network from a .h5 or .keras file, a run folder holding model.h5 / model.keras, or
    'default' (the network shipped with the package)."""
    if str(path) == pretrained.DEFAULT:
        path = pretrained.go_network()
    return modelfiles.load(modelfiles.find(path, what="network"), what="network",
                           fix="give a .h5 or .keras network, a `dl go train` run folder or 'default'")


PRECISIONS = ("int8", "bfloat16", "float32")


def search_precision() -> str:
    """How engines call their network: DLCLI_GO_PRECISION (int8, bfloat16 or float32), by default
    'auto': the int8 twin where ONNX Runtime is installed (1.2-1.4x faster calls than bfloat16 at
    batch 8-32 on this CPU; short matches against the network's policy showed no loss of
    strength, though too few games to rule one out: docs/go-search.md), else bfloat16 where the hardware computes it, else float32. Scoring
    (`dl go eval`) always computes in float32."""
    chosen = os.environ.get("DLCLI_GO_PRECISION", "auto").strip().lower() or "auto"
    if chosen == "auto":
        return "int8" if onnxnet.available() else "bfloat16" if lowprecision.hardware_has_bfloat16() else "float32"
    if chosen not in PRECISIONS:
        raise DlcliError(f"DLCLI_GO_PRECISION={chosen!r} is not a precision; choose one of auto, {', '.join(PRECISIONS)}")
    return chosen


def make_engine(path: str | Path, *, seed: int = 0, label: str | None = None, **settings) -> Engine:
    """An engine for the network at `path` (see `load_network`) with `Settings(**settings)`."""
    options = replace(Settings(), **settings)
    evaluator = NetworkEvaluator(load_network(path), symmetries=options.symmetries, seed=seed,
                                 precision=search_precision())
    return Engine(evaluator, options, seed=seed, label=label or Path(path).stem)
