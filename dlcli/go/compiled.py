"""The hot path of `dl go` compiled with numba: board play, liberties, legal moves and the 31 planes.

The same rules and planes as `board.Board` and `features.encode_python` (the reference: the tests
compare the two on thousands of positions), on flat arrays that numba compiles once (cached on
disk). A position is two arrays:

  ints  int32: colour, string id, next stone of the string (a circular list), stones per string
        id, the four positions before this one (planes 13-20), then the side to move, the passes
        in a row, the positions of history kept (up to 5) and the stones each colour captured
  bits  uint64: each string's liberties as a bitset of WORDS words, then the Zobrist hash

Ladders are read in place: every write of a reading goes to a journal (`Scratch`) and is taken
back when the reading leaves a position, so a reading never copies the board. `DLCLI_GO_COMPILED=0`
selects the pure-Python reference everywhere (also when numba is missing).
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the reference usable
    numba = None

from dlcli.go.board import BLACK, EMPTY, HISTORY, PASS, WHITE, Board, diagonal_table, neighbour_table, zobrist_table
from dlcli.go.constants import FIRST_PLAY_REDUCTION, LADDER_DEPTH, LADDER_NODES, PASS_PRIOR, PLANES, komi_plane

WORDS = 6  # 6 x 64 bits hold the 361 points of a 19x19 board
JOURNAL = 1 << 18  # writes a reading may hold at once (a line of 80 plies writes far fewer)


def enabled() -> bool:
    """True when the compiled path is used: numba is installed and DLCLI_GO_COMPILED is not 0."""
    return numba is not None and os.environ.get("DLCLI_GO_COMPILED", "1") != "0"


def _jit(function):
    return numba.njit(cache=True, nogil=True)(function) if numba is not None else function


# ------------------------------------------------------------------ layout

# offsets in `ints`, in units of n (the points of the board) for the arrays, then the scalars
COLOUR, STRING, NEXT, STONES, BEFORE = 0, 1, 2, 3, 4   # BEFORE..BEFORE+3: 1..4 moves ago
TO_MOVE, PASSES, KEPT, CAPTURED = 0, 1, 2, 3            # scalars after 8n; CAPTURED + colour - 1


@_jit
def _scalar(n, which):
    return 8 * n + which


@_jit
def _count_bits(word):
    count = 0
    while word:
        word &= word - np.uint64(1)
        count += 1
    return count


@_jit
def _lowest_bit(word):
    index = 0
    while not (word >> np.uint64(index)) & np.uint64(1):
        index += 1
    return index


@_jit
def _liberty_count(bits, string):
    count = 0
    for w in range(WORDS):
        word = bits[string * WORDS + w]
        if word:
            count += _count_bits(word)
    return count


@_jit
def _liberty(bits, string, which):
    """The `which`-th (0 or 1) liberty of `string` in increasing order of points."""
    for w in range(WORDS):
        word = bits[string * WORDS + w]
        while word:
            low = _lowest_bit(word)
            if which == 0:
                return w * 64 + low
            which -= 1
            word &= word - np.uint64(1)
    return -1


@_jit
def _has_liberty(bits, string, point):
    return (bits[string * WORDS + point // 64] >> np.uint64(point % 64)) & np.uint64(1) != 0


# ------------------------------------------------------------------ journaled writes

@_jit
def _set_int(ints, index, value, int_log, counts):
    k = counts[0]
    if k >= len(int_log):
        raise RuntimeError("the reading's journal is full")
    int_log[k, 0] = index
    int_log[k, 1] = ints[index]
    counts[0] = k + 1
    ints[index] = value


@_jit
def _set_bits(bits, index, value, bit_index, bit_value, counts):
    k = counts[1]
    if k >= len(bit_index):
        raise RuntimeError("the reading's journal is full")
    bit_index[k] = index
    bit_value[k] = bits[index]
    counts[1] = k + 1
    bits[index] = value


@_jit
def _rewind(ints, bits, int_log, bit_index, bit_value, counts, int_mark, bit_mark):
    """Take back every write after the marks (newest first)."""
    for k in range(counts[0] - 1, int_mark - 1, -1):
        ints[int_log[k, 0]] = int_log[k, 1]
    for k in range(counts[1] - 1, bit_mark - 1, -1):
        bits[bit_index[k]] = bit_value[k]
    counts[0] = int_mark
    counts[1] = bit_mark


# ------------------------------------------------------------------ rules

@_jit
def _rebuild(ints, bits, n, neighbours, zobrist):
    """Strings, liberties and hash from the colours alone (a position made by `state_of`)."""
    for p in range(n):
        ints[STRING * n + p] = -1
        ints[NEXT * n + p] = p
        ints[STONES * n + p] = 0
    bits[:] = 0
    stack = np.empty(n, np.int32)
    value = np.uint64(0)
    for start in range(n):
        colour = ints[start]
        if colour == EMPTY or ints[STRING * n + start] >= 0:
            continue
        ints[STRING * n + start] = start
        stack[0], top, last, count = start, 1, start, 0
        while top:
            top -= 1
            p = stack[top]
            count += 1
            value ^= zobrist[colour, p]
            if p != start:  # splice p into the circular list after `last`
                ints[NEXT * n + p] = ints[NEXT * n + last]
                ints[NEXT * n + last] = p
                last = p
            for k in range(4):
                q = neighbours[p, k]
                if q < 0:
                    break
                if ints[q] == EMPTY:
                    bits[start * WORDS + q // 64] |= np.uint64(1) << np.uint64(q % 64)
                elif ints[q] == colour and ints[STRING * n + q] < 0:
                    ints[STRING * n + q] = start
                    stack[top] = q
                    top += 1
        ints[STONES * n + start] = count
    bits[n * WORDS] = value


@_jit
def _capturing(ints, bits, n, point, colour, neighbours, out):
    """The strings a stone of `colour` at `point` captures, in `out`; their number, or -1 when the
    move is suicide (`Board._captures`)."""
    other = 3 - colour
    found, breathes = 0, False
    for k in range(4):
        q = neighbours[point, k]
        if q < 0:
            break
        c = ints[q]
        if c == EMPTY:
            breathes = True
        elif c == colour:
            if _liberty_count(bits, ints[STRING * n + q]) > 1:
                breathes = True
        elif c == other:
            string = ints[STRING * n + q]
            if _liberty_count(bits, string) == 1:
                seen = False
                for i in range(found):
                    if out[i] == string:
                        seen = True
                if not seen:
                    out[found] = string
                    found += 1
    if found or breathes:
        return found
    return -1


@_jit
def _hash_after(ints, bits, n, point, colour, captures, found, zobrist):
    value = bits[n * WORDS] ^ zobrist[colour, point]
    other = 3 - colour
    for i in range(found):
        string = captures[i]
        stone = string
        while True:
            value ^= zobrist[other, stone]
            stone = ints[NEXT * n + stone]
            if stone == string:
                break
    return value


@_jit
def _place(ints, bits, n, point, colour, neighbours, zobrist, int_log, bit_index, bit_value, counts):
    """Put a stone, merge strings, remove the captured ones (`Board._place`); legality is the caller's."""
    _set_int(ints, point, colour, int_log, counts)
    _set_int(ints, STRING * n + point, point, int_log, counts)
    _set_int(ints, NEXT * n + point, point, int_log, counts)
    _set_int(ints, STONES * n + point, 1, int_log, counts)
    _set_bits(bits, n * WORDS, bits[n * WORDS] ^ zobrist[colour, point], bit_index, bit_value, counts)
    for w in range(WORDS):
        if bits[point * WORDS + w]:
            _set_bits(bits, point * WORDS + w, np.uint64(0), bit_index, bit_value, counts)
    for k in range(4):
        q = neighbours[point, k]
        if q < 0:
            break
        if ints[q] == EMPTY:
            index = point * WORDS + q // 64
            _set_bits(bits, index, bits[index] | (np.uint64(1) << np.uint64(q % 64)), bit_index, bit_value, counts)
    mine = point
    other = 3 - colour
    for k in range(4):
        q = neighbours[point, k]
        if q < 0:
            break
        c = ints[q]
        if c == colour:
            b = ints[STRING * n + q]
            if b != mine:
                mine = _merge(ints, bits, n, mine, b, int_log, bit_index, bit_value, counts)
        elif c == other:
            string = ints[STRING * n + q]
            index = string * WORDS + point // 64
            mask = np.uint64(1) << np.uint64(point % 64)
            if bits[index] & mask:
                _set_bits(bits, index, bits[index] & ~mask, bit_index, bit_value, counts)
                if _liberty_count(bits, string) == 0:
                    _remove(ints, bits, n, string, neighbours, zobrist, int_log, bit_index, bit_value, counts)
    index = mine * WORDS + point // 64
    mask = np.uint64(1) << np.uint64(point % 64)
    if bits[index] & mask:
        _set_bits(bits, index, bits[index] & ~mask, bit_index, bit_value, counts)


@_jit
def _merge(ints, bits, n, a, b, int_log, bit_index, bit_value, counts):
    """Merge two strings of one colour; the larger keeps its id."""
    if ints[STONES * n + a] < ints[STONES * n + b]:
        a, b = b, a
    stone = b
    while True:
        _set_int(ints, STRING * n + stone, a, int_log, counts)
        stone = ints[NEXT * n + stone]
        if stone == b:
            break
    after_a, after_b = ints[NEXT * n + a], ints[NEXT * n + b]
    _set_int(ints, NEXT * n + a, after_b, int_log, counts)
    _set_int(ints, NEXT * n + b, after_a, int_log, counts)
    _set_int(ints, STONES * n + a, ints[STONES * n + a] + ints[STONES * n + b], int_log, counts)
    for w in range(WORDS):
        merged = bits[a * WORDS + w] | bits[b * WORDS + w]
        if merged != bits[a * WORDS + w]:
            _set_bits(bits, a * WORDS + w, merged, bit_index, bit_value, counts)
    return a


@_jit
def _remove(ints, bits, n, string, neighbours, zobrist, int_log, bit_index, bit_value, counts):
    """Take a captured string off the board, giving liberties back to its neighbours."""
    colour = ints[string]
    value = bits[n * WORDS]
    stone = string
    while True:
        _set_int(ints, stone, EMPTY, int_log, counts)
        _set_int(ints, STRING * n + stone, -1, int_log, counts)
        value ^= zobrist[colour, stone]
        stone = ints[NEXT * n + stone]
        if stone == string:
            break
    _set_bits(bits, n * WORDS, value, bit_index, bit_value, counts)
    while True:
        for k in range(4):
            q = neighbours[stone, k]
            if q < 0:
                break
            neighbour = ints[STRING * n + q]
            if neighbour >= 0:
                index = neighbour * WORDS + stone // 64
                mask = np.uint64(1) << np.uint64(stone % 64)
                if not bits[index] & mask:
                    _set_bits(bits, index, bits[index] | mask, bit_index, bit_value, counts)
        stone = ints[NEXT * n + stone]
        if stone == string:
            break
    taker = _scalar(n, CAPTURED) + (3 - colour) - 1
    _set_int(ints, taker, ints[taker] + ints[STONES * n + string], int_log, counts)


@_jit
def _in_sorted(values, value):
    """`value` in the sorted array `values` (binary search)."""
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low < len(values) and values[low] == value


@_jit
def _is_legal(ints, bits, n, point, colour, neighbours, zobrist, seen, line, line_length, captures):
    """`Board.is_legal` for a point on the board: empty, not suicide, no repeat of a position in
    `seen` (sorted) or in `line[:line_length]`."""
    if ints[point] != EMPTY:
        return False
    found = _capturing(ints, bits, n, point, colour, neighbours, captures)
    if found < 0:
        return False
    value = _hash_after(ints, bits, n, point, colour, captures, found, zobrist)
    for i in range(line_length):
        if line[i] == value:
            return False
    return not _in_sorted(seen, value)


@_jit
def _fills_own_eye(ints, point, colour, neighbours, diagonals):
    """`player.fills_own_eye`."""
    if ints[point] != EMPTY:
        return False
    for k in range(4):
        q = neighbours[point, k]
        if q < 0:
            break
        if ints[q] != colour:
            return False
    enemy, on_board = 0, 0
    for k in range(4):
        q = diagonals[point, k]
        if q < 0:
            break
        on_board += 1
        if ints[q] == 3 - colour:
            enemy += 1
    return enemy == 0 if on_board < 4 else enemy <= 1


@_jit
def _moves(ints, bits, n, colour, sensible, neighbours, diagonals, zobrist, seen, line, line_length, out):
    """The legal points for `colour` (and with `sensible` only those not filling its own eye), in
    `out`; their number."""
    captures = np.empty(4, np.int32)
    found = 0
    for p in range(n):
        if ints[p] != EMPTY:
            continue
        if sensible and _fills_own_eye(ints, p, colour, neighbours, diagonals):
            continue
        if _is_legal(ints, bits, n, p, colour, neighbours, zobrist, seen, line, line_length, captures):
            out[found] = p
            found += 1
    return found


@_jit
def _play(ints, bits, n, point, colour, neighbours, zobrist, int_log, bit_index, bit_value, counts):
    """`Board.play` without the legality check and the superko record (the caller's)."""
    for age in range(3, 0, -1):
        ints[(BEFORE + age) * n:(BEFORE + age + 1) * n] = ints[(BEFORE + age - 1) * n:(BEFORE + age) * n]
    ints[BEFORE * n:(BEFORE + 1) * n] = ints[:n]
    if point == PASS:
        ints[_scalar(n, PASSES)] += 1
    else:
        _place(ints, bits, n, point, colour, neighbours, zobrist, int_log, bit_index, bit_value, counts)
        ints[_scalar(n, PASSES)] = 0
    counts[0] = counts[1] = 0  # a move played for good is never taken back
    ints[_scalar(n, TO_MOVE)] = 3 - colour
    ints[_scalar(n, KEPT)] = min(ints[_scalar(n, KEPT)] + 1, HISTORY)


@_jit
def _area(ints, n, neighbours):
    """`Board.area`: (Black, White) by Tromp-Taylor area."""
    black, white = 0, 0
    visited = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int32)
    for p in range(n):
        if ints[p] == BLACK:
            black += 1
        elif ints[p] == WHITE:
            white += 1
    for start in range(n):
        if ints[start] != EMPTY or visited[start]:
            continue
        region, borders, top = 0, 0, 1
        stack[0] = start
        visited[start] = True
        while top:
            top -= 1
            p = stack[top]
            region += 1
            for k in range(4):
                q = neighbours[p, k]
                if q < 0:
                    break
                c = ints[q]
                if c == EMPTY:
                    if not visited[q]:
                        visited[q] = True
                        stack[top] = q
                        top += 1
                else:
                    borders |= c
        if borders == BLACK:
            black += region
        elif borders == WHITE:
            white += region
    return black, white


# ------------------------------------------------------------------ ladders (features' reading)

@_jit
def _extension_liberties(ints, bits, n, stone, extension, blocked, neighbours):
    """`features._extension_liberties`; -1 for its None (a capture makes the count unsure)."""
    colour = ints[stone]
    for point in (extension, blocked):
        if point < 0:
            continue
        mover = colour if point == extension else 3 - colour
        for k in range(4):
            q = neighbours[point, k]
            if q < 0:
                break
            c = ints[q]
            if c != EMPTY and c != mover and _liberty_count(bits, ints[STRING * n + q]) <= 2:
                return -1
    string = ints[STRING * n + stone]
    count = 0
    for w in range(WORDS):
        word = bits[string * WORDS + w]
        for k in range(4):
            q = neighbours[extension, k]
            if q < 0:
                break
            c = ints[q]
            if c == EMPTY:
                if q // 64 == w:
                    word |= np.uint64(1) << np.uint64(q % 64)
            elif c == colour:
                word |= bits[ints[STRING * n + q] * WORDS + w]
        for point in (extension, blocked):
            if point >= 0 and point // 64 == w:
                word &= ~(np.uint64(1) << np.uint64(point % 64))
        if word:
            count += _count_bits(word)
    return count


_ILLEGAL, _PLAYED, _OUT_OF_BUDGET = 0, 1, 2


@_jit
def _after(ints, bits, n, move, colour, neighbours, zobrist, record, line, budget, journal):
    """`features._after`, in place: plays `move` with its writes journaled; _ILLEGAL, _PLAYED or
    _OUT_OF_BUDGET. `budget`: [positions left, line length]; `record`: the game's positions, checked
    at the root only (the reference's root board has a superko record, its reading copies none):
    (sorted hashes, more hashes, how many of those)."""
    int_log, bit_index, bit_value, counts, captures = journal
    if ints[move] != EMPTY:
        return _ILLEGAL
    found = _capturing(ints, bits, n, move, colour, neighbours, captures)
    if found < 0:
        return _ILLEGAL
    value = _hash_after(ints, bits, n, move, colour, captures, found, zobrist)
    length = budget[1]
    for i in range(length):
        if line[i] == value:
            return _ILLEGAL
    if length == 1:  # the root: no repeat of the game's positions either
        seen, path, path_length = record
        if _in_sorted(seen, value):
            return _ILLEGAL
        for i in range(path_length):
            if path[i] == value:
                return _ILLEGAL
    budget[0] -= 1
    if budget[0] < 0:
        return _OUT_OF_BUDGET
    line[length] = value
    budget[1] = length + 1
    _place(ints, bits, n, move, colour, neighbours, zobrist, int_log, bit_index, bit_value, counts)
    return _PLAYED


# A reading is a line of frames, one per position read; a frame escapes (the defender moves: the
# `features._escapes` of its position) or captures (the attacker moves: `features._captures`), the
# two alternating. numba caches no recursive function, hence this explicit stack. Per frame, in
# `frames`: 0 what is tried next (escaping: 0 the liberty, 1 the captures; capturing: the turn),
# 1 the liberty (escaping) or the first liberty, 2 the second liberty, 3-4 the journal's marks;
# in `takes`: the liberties of attacking strings in atari left to try (escaping), as a bitset.
_FALSE, _TRUE, _DEEPER = 0, 1, 2


@_jit
def _start(escaping, ints, bits, n, stone, depth, neighbours, frame, takes):
    """A frame's outcome when it needs no move (_FALSE, _TRUE), else _DEEPER (moves to try)."""
    string = ints[STRING * n + stone]
    if escaping:
        attacker = 3 - ints[stone]
        liberty = _liberty(bits, string, 0)
        takes[:] = 0
        any_take = False
        s = string
        while True:
            for k in range(4):
                q = neighbours[s, k]
                if q < 0:
                    break
                if ints[q] == attacker:
                    other = ints[STRING * n + q]
                    if _liberty_count(bits, other) == 1:
                        point = _liberty(bits, other, 0)
                        takes[point // 64] |= np.uint64(1) << np.uint64(point % 64)
                        any_take = True
            s = ints[NEXT * n + s]
            if s == string:
                break
        if not any_take:
            count = _extension_liberties(ints, bits, n, stone, liberty, -1, neighbours)
            if count >= 3:
                return _TRUE
            if 0 <= count <= 1:
                return _FALSE
        takes[liberty // 64] &= ~(np.uint64(1) << np.uint64(liberty % 64))
        frame[0], frame[1] = 0, liberty
        return _DEEPER
    count = _liberty_count(bits, string)
    if count == 1:
        return _TRUE
    if count != 2 or depth <= 0:
        return _FALSE
    frame[0], frame[1], frame[2] = 0, _liberty(bits, string, 0), _liberty(bits, string, 1)
    return _DEEPER


@_jit
def _next(escaping, ints, bits, n, stone, neighbours, zobrist, record, line, budget, journal, frame, takes):
    """Try the frame's next moves: _DEEPER when one was played and needs the next frame's outcome
    (its position stays on the board), else the frame's outcome."""
    int_log, bit_index, bit_value, counts, _ = journal
    while True:
        if escaping:
            if frame[0] == 0:
                move = frame[1]
                frame[0] = 1
            else:
                move = -1
                for w in range(WORDS):
                    if takes[w]:
                        move = w * 64 + _lowest_bit(takes[w])
                        takes[w] &= takes[w] - np.uint64(1)
                        break
                if move < 0:
                    return _FALSE
            colour = ints[stone]
        else:
            if frame[0] == 2:
                return _FALSE
            move, other = (frame[1], frame[2]) if frame[0] == 0 else (frame[2], frame[1])
            frame[0] += 1
            if _extension_liberties(ints, bits, n, stone, other, move, neighbours) >= 3:
                continue  # the defender extends out of it
            colour = 3 - ints[stone]
        frame[3], frame[4] = counts[0], counts[1]
        played = _after(ints, bits, n, move, colour, neighbours, zobrist, record, line, budget, journal)
        if played == _OUT_OF_BUDGET:
            return _TRUE if escaping else _FALSE
        if played == _ILLEGAL:
            continue
        count = _liberty_count(bits, ints[STRING * n + stone])
        if escaping and count >= 3:
            outcome = _TRUE
        elif (escaping and count == 2) or (not escaping and count == 1):
            return _DEEPER
        else:
            outcome = _FALSE
        _rewind(ints, bits, int_log, bit_index, bit_value, counts, frame[3], frame[4])
        budget[1] -= 1
        if outcome == _TRUE:
            return _TRUE


@_jit
def _read(escaping, ints, bits, n, stone, depth, neighbours, zobrist, record, line, budget, journal, frames, takes):
    """`features._escapes` (escaping) or `features._captures` of the string at `stone`, read in
    place: the board is as it was when this returns."""
    int_log, bit_index, bit_value, counts, _ = journal
    level = 0
    outcome = _start(escaping, ints, bits, n, stone, depth, neighbours, frames[0], takes[0])
    if outcome == _DEEPER:
        outcome = _next(escaping, ints, bits, n, stone, neighbours, zobrist, record, line, budget, journal,
                        frames[0], takes[0])
    while True:
        if outcome == _DEEPER:  # a move was played: read the position after it
            level += 1
            kind = escaping != (level % 2 == 1)
            outcome = _start(kind, ints, bits, n, stone, depth - level, neighbours, frames[level], takes[level])
            if outcome == _DEEPER:
                outcome = _next(kind, ints, bits, n, stone, neighbours, zobrist, record, line, budget, journal,
                                frames[level], takes[level])
            continue
        if level == 0:
            return outcome == _TRUE
        level -= 1  # back to the frame whose move led here, with that position's outcome
        kind = escaping != (level % 2 == 1)
        frame = frames[level]
        _rewind(ints, bits, int_log, bit_index, bit_value, counts, frame[3], frame[4])
        budget[1] -= 1
        if outcome == _FALSE:  # the escape was not captured, or the capture not escaped
            outcome = _TRUE
        else:
            outcome = _next(kind, ints, bits, n, stone, neighbours, zobrist, record, line, budget, journal,
                            frame, takes[level])


# ------------------------------------------------------------------ planes

@_jit
def _encode(ints, bits, n, komi_index, neighbours, zobrist, record, journal, line, frames, takes, target, out):
    """The 31 planes (`features.encode_python`) into `out` (n, 31), zero on entry; the plane of point
    p goes to row target[p] (a symmetry of the board, or the identity)."""
    me = ints[_scalar(n, TO_MOVE)]
    other = 3 - me
    budget = np.empty(2, np.int64)
    marks = np.zeros(n, np.int32)  # per string id: the reading that marked it (planes 2 and 4)
    reading = 0
    for p in range(n):
        row = target[p]
        if me == BLACK:
            out[row, 0] = 1
        out[row, 21 + komi_index] = 1
        for age in range(min(ints[_scalar(n, KEPT)], HISTORY)):
            c = ints[p] if age == 0 else ints[(BEFORE + age - 1) * n + p]
            if c == me:
                out[row, 11 + 2 * age] = 1
            elif c == other:
                out[row, 12 + 2 * age] = 1
        if ints[p] == EMPTY:
            continue
        string = ints[STRING * n + p]
        count = _liberty_count(bits, string)
        out[row, 5 + min(count, 6) - 1] = 1
        if string != p or count > 2:
            continue
        budget[0], budget[1] = LADDER_NODES, 1
        line[0] = bits[n * WORDS]
        escapes_or_taken = _read(count == 1, ints, bits, n, p, LADDER_DEPTH, neighbours, zobrist, record, line, budget,
                                 journal, frames, takes)
        if escapes_or_taken == (count == 1):  # plane 1: no escape; plane 3: taken
            continue
        plane = 1 if count == 1 else 3
        reading += 1
        stone = p
        while True:  # the string's stones, and the stones of the opponent strings next to it
            out[target[stone], plane] = 1
            for k in range(4):
                q = neighbours[stone, k]
                if q < 0:
                    break
                if ints[q] != EMPTY and ints[q] != ints[p]:
                    neighbour = ints[STRING * n + q]
                    if marks[neighbour] != reading:
                        marks[neighbour] = reading
                        s = neighbour
                        while True:
                            out[target[s], plane + 1] = 1
                            s = ints[NEXT * n + s]
                            if s == neighbour:
                                break
            stone = ints[NEXT * n + stone]
            if stone == p:
                break


# ------------------------------------------------------------------ Python side

@lru_cache(maxsize=None)
def tables(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(neighbours, diagonals, Zobrist keys) of a board size as arrays (-1 pads the first two)."""
    n = size * size
    neighbours = np.full((n, 4), -1, np.int32)
    diagonals = np.full((n, 4), -1, np.int32)
    for p, (near, corners) in enumerate(zip(neighbour_table(size), diagonal_table(size))):
        neighbours[p, :len(near)] = near
        diagonals[p, :len(corners)] = corners
    zobrist = np.array(zobrist_table(size), dtype=np.uint64)
    return neighbours, diagonals, zobrist


class Scratch:
    """Working memory of readings and move generation: the journal, the line of positions read."""

    def __init__(self, entries: int = JOURNAL):
        self.journal = (np.empty((entries, 2), np.int64), np.empty(entries, np.int64), np.empty(entries, np.uint64),
                        np.zeros(2, np.int64), np.empty(4, np.int32))
        self.line = np.empty(2 * LADDER_DEPTH + 8, np.uint64)
        self.frames = np.empty((LADDER_DEPTH + 2, 5), np.int64)
        self.takes = np.empty((LADDER_DEPTH + 2, WORDS), np.uint64)


_SCRATCH: Scratch | None = None


def scratch() -> Scratch:
    """This process's scratch memory (readings are sequential: one is enough)."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Scratch()
    return _SCRATCH


def new_state(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(8 * n + 5, np.int32), np.zeros(n * WORDS + 1, np.uint64)


def state_of(board: Board) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of a `Board` position (strings and hash rebuilt from its colours)."""
    n = board.points
    ints, bits = new_state(n)
    ints[:n] = board.colour
    for age in range(1, min(len(board.history), HISTORY)):
        ints[(BEFORE + age - 1) * n:(BEFORE + age) * n] = np.frombuffer(board.history[-1 - age], np.uint8)
    ints[8 * n + TO_MOVE] = board.to_move
    ints[8 * n + PASSES] = board.passes
    ints[8 * n + KEPT] = len(board.history)
    ints[8 * n + CAPTURED] = board.captured[BLACK]
    ints[8 * n + CAPTURED + 1] = board.captured[WHITE]
    _rebuild(ints, bits, n, tables(board.size)[0], tables(board.size)[2])
    return ints, bits


def seen_array(board: Board) -> np.ndarray:
    """The board's superko record as a sorted array (empty when it checks none)."""
    seen = board.seen or ()
    return np.sort(np.fromiter(seen, np.uint64, len(seen)))


_IDENTITY: dict[int, np.ndarray] = {}


def encode_state(ints, bits, size: int, komi_index: int, seen: np.ndarray, out: np.ndarray,
                 target: np.ndarray | None = None) -> np.ndarray:
    """The 31 planes of a position into `out` (size*size, 31), which must be zero; `target` moves
    point p's planes to row target[p] (a symmetry)."""
    if target is None:
        target = _IDENTITY.setdefault(size, np.arange(size * size, dtype=np.int32))
    work = scratch()
    neighbours, _, zobrist = tables(size)
    record = (seen, work.line[:0], 0)
    _encode(ints, bits, size * size, komi_index, neighbours, zobrist, record, work.journal, work.line, work.frames,
            work.takes, target, out)
    return out


def encode_board(board: Board) -> np.ndarray:
    """`features.encode_python(board)`, compiled: uint8 planes shaped (size, size, 31)."""
    ints, bits = state_of(board)
    out = np.zeros((board.points, PLANES), np.uint8)
    encode_state(ints, bits, board.size, komi_plane(board.komi), seen_array(board), out)
    return out.reshape(board.size, board.size, PLANES)


def moves(ints, bits, size: int, colour: int, seen: np.ndarray, *, sensible: bool) -> np.ndarray:
    """The legal points of `colour` (with `sensible`, those not filling its own eye), increasing."""
    neighbours, diagonals, zobrist = tables(size)
    out = np.empty(size * size, np.int32)
    work = scratch()
    found = _moves(ints, bits, size * size, colour, sensible, neighbours, diagonals, zobrist, seen, work.line, 0, out)
    return out[:found]


def play(ints, bits, size: int, point: int, colour: int) -> None:
    """Play a move known to be legal (no superko record kept: the caller's)."""
    neighbours, _, zobrist = tables(size)
    int_log, bit_index, bit_value, counts, _ = scratch().journal
    _play(ints, bits, size * size, point, colour, neighbours, zobrist, int_log, bit_index, bit_value, counts)


def area(ints, size: int) -> tuple[int, int]:
    return _area(ints, size * size, tables(size)[0])


# ------------------------------------------------------------------ the search tree (mcts.CompiledSearch)
# Nodes: first edge, edge count (-1 before expansion), pending (waiting in a batch). Edges: move,
# prior, visits, value sum, child node (-1 none). The arithmetic is `mcts.Search`'s, sums included
# (`_sum` adds as numpy does), so that both searches choose the same moves.

@_jit
def _block_sum(values, start, stop):
    """numpy's pairwise sum of at most 128 values (eight running sums)."""
    count = stop - start
    if count < 8:
        total = 0.0
        for i in range(start, stop):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = start + 8
    while i < stop - count % 8:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < stop:
        total += values[i]
        i += 1
    return total


@_jit
def _sum(values, start, stop):
    """numpy's sum of values[start:stop]: blocks of 128 added as two halves, recursively (the same
    rounding as numpy). An explicit stack: numba caches no recursive function safely."""
    if stop - start <= 128:
        return _block_sum(values, start, stop)
    low, high, stage = np.empty(64, np.int64), np.empty(64, np.int64), np.zeros(64, np.int64)
    left = np.empty(64, np.float64)
    low[0], high[0], top, last = start, stop, 1, 0.0
    while top:
        i = top - 1
        count = high[i] - low[i]
        middle = low[i] + count // 2 - (count // 2) % 8
        if count <= 128:
            last = _block_sum(values, low[i], high[i])
            top -= 1
        elif stage[i] == 0:
            stage[i] = 1
            low[top], high[top], stage[top] = low[i], middle, 0
            top += 1
        elif stage[i] == 1:
            stage[i], left[i] = 2, last
            low[top], high[top], stage[top] = middle, high[i], 0
            top += 1
        else:
            last = left[i] + last
            top -= 1
    return last


@_jit
def _select(first, count, visits, values, priors, noise, c_puct):
    """`mcts.Search._select`: the edge of the largest Q + U (the first of equals)."""
    total = _sum(visits, first, first + count)
    parent = _sum(values, first, first + count) / total if total else 0.5
    first_play = max(parent - FIRST_PLAY_REDUCTION, 0.0)
    root = np.sqrt(total + 1)
    best, chosen = -np.inf, first
    for i in range(count):
        e = first + i
        v = visits[e]
        q = values[e] / v if v > 0 else first_play
        prior = priors[e] if len(noise) == 0 else noise[i]
        score = q + c_puct * prior * root / (1 + v)
        if score > best:
            best, chosen = score, e
    return chosen


@_jit
def _backup(path, depth, leaf_value, valued, loss, visits, values):
    """`mcts.Search._backup`: undo the virtual loss along the path, add the leaf's value (for its
    side to move) flipped at every ply when `valued`."""
    value = 1 - leaf_value
    for i in range(depth - 1, -1, -1):
        e = path[i]
        visits[e] -= loss
        if valued:
            visits[e] += 1
            values[e] += value
            value = 1 - value


@_jit
def _gather(tree, edges, root, wanted, noise, c_puct, loss, komi, root_ints, root_bits, size, neighbours, zobrist,
            slots_ints, slots_bits, paths, hashes, depths, leaves, journal):
    """`mcts.Search._gather`: descend up to `wanted` playouts from `root`, each on its own copy of
    the root position (a slot); the leaves to evaluate are slots 0..count-1. Returns (count,
    playouts that ended a game). `tree`: per node first edge, edge count (-1: not expanded),
    pending, and the node count in tree[0, 3]."""
    int_log, bit_index, bit_value, counts, _ = journal
    moves, priors, visits, values, children = edges
    n = size * size
    batch, finished, collisions = 0, 0, 0
    no_noise = noise[:0]
    while batch + finished < wanted and collisions < wanted:
        ints, bits, path, line = slots_ints[batch], slots_bits[batch], paths[batch], hashes[batch]
        ints[:] = root_ints
        bits[:] = root_bits
        node, depth = root, 0
        while tree[node, 1] >= 0 and ints[_scalar(n, PASSES)] < 2:
            e = _select(tree[node, 0], tree[node, 1], visits, values, priors, noise if node == root else no_noise,
                        c_puct)
            if depth == len(path):
                raise ValueError("a playout went deeper than its path can hold")
            path[depth] = e
            visits[e] += loss
            _play(ints, bits, n, moves[e], ints[_scalar(n, TO_MOVE)], neighbours, zobrist, int_log, bit_index,
                  bit_value, counts)
            line[depth] = bits[n * WORDS]
            depth += 1
            if children[e] < 0:
                child = tree[0, 3]
                tree[0, 3] = child + 1
                tree[child, 0], tree[child, 1], tree[child, 2] = 0, -1, 0
                children[e] = child
            node = children[e]
        if ints[_scalar(n, PASSES)] >= 2:
            black, white = _area(ints, n, neighbours)
            score = black - white - komi
            to_move = ints[_scalar(n, TO_MOVE)]
            value = 0.5 if score == 0 else (1.0 if (BLACK if score > 0 else WHITE) == to_move else 0.0)
            _backup(path, depth, value, True, loss, visits, values)
            finished += 1
        elif tree[node, 2]:
            _backup(path, depth, 0.0, False, loss, visits, values)
            collisions += 1
        else:
            tree[node, 2] = 1
            depths[batch], leaves[batch] = depth, node
            batch += 1
    return batch, finished


@_jit
def _expand(tree, edges, count, policy, white, size, neighbours, diagonals, zobrist, seen, slots_ints, slots_bits,
            paths, hashes, depths, leaves, loss, pass_after, root_moves):
    """`mcts.Node.expand` and the backup of `mcts.Search._expand` for slots 0..count-1: the
    sensible moves with the policy renormalised over them (pass added as mcts adds it: after a
    pass, or from move `pass_after` of the game on, -1: never; the root is move `root_moves`),
    and the value of White turned to each leaf's side to move. The edge count is in tree[1, 3]."""
    moves, priors, visits, values, children = edges
    n = size * size
    found = np.empty(n, np.int32)
    chosen = np.empty(n + 1, np.float64)
    for b in range(count):
        ints, bits, node = slots_ints[b], slots_bits[b], leaves[b]
        to_move = ints[_scalar(n, TO_MOVE)]
        k = _moves(ints, bits, n, to_move, True, neighbours, diagonals, zobrist, seen, hashes[b], depths[b], found)
        first = tree[1, 3]
        for i in range(k):
            chosen[i] = policy[b, found[i]]
        total = _sum(chosen, 0, k)
        for i in range(k):
            moves[first + i] = found[i]
            priors[first + i] = chosen[i] / total if total > 0 else 1 / k
        if k == 0:
            moves[first], priors[first], k = PASS, 1.0, 1
        elif ints[_scalar(n, PASSES)] == 1 or (pass_after >= 0 and root_moves + depths[b] >= pass_after):
            for i in range(k):
                priors[first + i] *= 1 - PASS_PRIOR
            moves[first + k], priors[first + k] = PASS, PASS_PRIOR
            k += 1
        for i in range(k):
            visits[first + i], values[first + i], children[first + i] = 0.0, 0.0, -1
        tree[node, 0], tree[node, 1], tree[node, 2] = first, k, 0
        tree[1, 3] = first + k
        leaf = white[b] if to_move == WHITE else 1 - white[b]
        _backup(paths[b], depths[b], leaf, True, loss, visits, values)


@_jit
def _keep(tree, edges, root, new_tree, new_edges):
    """Copy the subtree under `root` into fresh arrays (root first); the tree is reused from move to
    move, and this keeps only what can still be reached."""
    moves, priors, visits, values, children = edges
    new_moves, new_priors, new_visits, new_values, new_children = new_edges
    order = np.empty(tree[0, 3], np.int64)
    order[0], done, nodes, edge_count = root, 0, 1, 0
    while done < nodes:
        node = order[done]
        first, count = tree[node, 0], tree[node, 1]
        new_tree[done, 0], new_tree[done, 1], new_tree[done, 2] = edge_count, count, tree[node, 2]
        for i in range(max(count, 0)):
            e = first + i
            new_moves[edge_count], new_priors[edge_count] = moves[e], priors[e]
            new_visits[edge_count], new_values[edge_count] = visits[e], values[e]
            if children[e] >= 0:
                order[nodes] = children[e]
                new_children[edge_count] = nodes
                nodes += 1
            else:
                new_children[edge_count] = -1
            edge_count += 1
        done += 1
    new_tree[0, 3], new_tree[1, 3] = nodes, edge_count


@_jit
def _encode_slots(count, slots_ints, slots_bits, size, komi_index, neighbours, zobrist, seen, hashes, depths, journal,
                  line, frames, takes, targets, out):
    """The planes of slots 0..count-1 (`_gather`'s leaves), each turned by its row of `targets`."""
    for b in range(count):
        record = (seen, hashes[b], depths[b])
        _encode(slots_ints[b], slots_bits[b], size * size, komi_index, neighbours, zobrist, record, journal, line, frames,
                takes, targets[b], out[b])
