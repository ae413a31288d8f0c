"""The rules of Go on hand-made positions, and a real record's score against its result."""

from __future__ import annotations

import pytest

from dlcli.go import sgf
from dlcli.go.board import BLACK, EMPTY, PASS, WHITE, Board, IllegalMove, from_diagram

# A real game (Fox server, 2017, from the course-style AI collection): W+2.5 by counting, 250 moves,
# played to the end of the boundary plays, so area scoring of the final position gives the result.
REAL_RECORD = """(;GM[1]FF[4]SZ[19]KM[750]HA[0]RU[Japanese]RE[W+2.5]
;B[qd];W[dc];B[dq];W[pp];B[ce];W[ed];B[nc];W[do];B[co];W[cn];B[cp];W[dn];B[ci];W[eq];B[er];W[dp];B[cq];W[fq]
;B[fr];W[hq];B[hc];W[he];B[df];W[jd];B[fe];W[fd];B[jc];W[kc];B[kd];W[ic];B[jb];W[je];B[id];W[ld];B[kb];W[ke]
;B[mc];W[qn];B[qi];W[qk];B[or];W[pr];B[oq];W[pq];B[lq];W[qf];B[oi];W[of];B[ok];W[od];B[oc];W[pd];B[pc];W[rd]
;B[qe];W[re];B[qc];W[rg];B[op];W[oo];B[no];W[on];B[mi];W[bd];B[cl];W[dj];B[cd];W[cc];B[cj];W[dl];B[gq];W[gp]
;B[gr];W[ho];B[gm];W[ck];B[bk];W[dk];B[bl];W[hm];B[gk];W[hl];B[em];W[dm];B[fj];W[gn];B[eh];W[ki];B[lk];W[mp]
;B[mq];W[np];B[ip];W[hp];B[lo];W[mo];B[mn];W[nn];B[lp];W[kk];B[kl];W[jk];B[gh];W[mm];B[ln];W[ll];B[mk];W[km]
;B[qj];W[pk];B[pj];W[be];B[bf];W[rk];B[ps];W[qs];B[os];W[qr];B[mg];W[rc];B[rb];W[sb];B[bn];W[jr];B[nq];W[no]
;B[kr];W[jq];B[jp];W[hr];B[ks];W[gb];B[ra];W[sh];B[ol];W[hb];B[ib];W[gc];B[fn];W[fo];B[in];W[hn];B[pl];W[ql]
;B[pm];W[qm];B[lm];W[jl];B[ae];W[bc];B[ie];W[lh];B[og];W[pg];B[nf];W[if];B[hf];W[ig];B[oe];W[pf];B[hg];W[hd]
;B[ic];W[ih];B[lf];W[kf];B[pe];W[hj];B[fl];W[oh];B[nh];W[ng];B[pn];W[po];B[og];W[ph];B[ee];W[me];B[ml];W[nm]
;B[ne];W[lg];B[mf];W[ad];B[af];W[di];B[dh];W[fi];B[gi];W[ei];B[gj];W[io];B[jo];W[fh];B[fg];W[cm];B[bm];W[hk]
;B[jm];W[im];B[jn];W[md];B[li];W[kj];B[lc];W[kd];B[iq];W[ir];B[hi];W[ii];B[nd];W[ia];B[gs];W[kl];B[kq];W[dd]
;B[de];W[rj];B[ri];W[si];B[ge];W[gd];B[ja];W[ha];B[lb];W[lj];B[mj];W[nl];B[nk];W[kn];B[ko];W[qh];B[ng];W[pi]
;B[mh];W[en];B[fm];W[hh];B[ep];W[fp];B[ek];W[gl];B[el];W[eo];B[ej];W[kg];B[qb];W[sc];B[oj];W[rh])"""


def at(board: Board, row: int, col: int) -> int:
    return board.point(row, col)


def test_capture_of_several_strings_at_once():
    board = from_diagram("""
        . X O X . . . . .
        X O . O X . . . .
        . X O X . . . . .
        . . X . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""")
    board.play(at(board, 1, 2), BLACK)  # fills the last liberty of three white strings
    assert board.captured[BLACK] == 4
    for row, col in ((0, 2), (1, 1), (1, 3), (2, 2)):
        assert board.colour[at(board, row, col)] == EMPTY
    assert board.liberty_count(at(board, 1, 2)) == 4


def test_snapback():
    board = from_diagram("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . O O O O O . . .
        O X X X X O . . .
        O X . . X O . . .""", to_move=WHITE)
    board.play(at(board, 8, 2), WHITE)  # the throw-in: one liberty, and Black is in atari
    board.play(at(board, 8, 3), BLACK)  # Black takes it ...
    assert board.captured[BLACK] == 1
    assert board.liberty_count(at(board, 8, 3)) == 1
    board.play(at(board, 8, 2), WHITE)  # ... and White takes back the whole string
    assert board.captured[WHITE] == 7
    assert all(board.colour[at(board, r, c)] == EMPTY for r, c in ((7, 1), (7, 4), (8, 3), (8, 4)))


def ko_board() -> Board:
    return from_diagram("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . X O . . . . .
        . X O . O . . . .
        . . X O . . . . .""")


def test_ko_recapture_refused_then_allowed_after_a_threat():
    board = ko_board()
    board.play(at(board, 7, 3), BLACK)  # takes the ko
    with pytest.raises(IllegalMove, match="superko"):
        board.play(at(board, 7, 2), WHITE)
    board.play(at(board, 0, 8), WHITE)  # a threat elsewhere
    board.play(at(board, 0, 0), BLACK)
    board.play(at(board, 7, 2), WHITE)  # now the position differs: legal
    assert board.colour[at(board, 7, 3)] == EMPTY


def test_positional_superko_forbids_a_repeat_even_after_passes():
    board = ko_board()
    board.play(at(board, 7, 3), BLACK)
    board.play(PASS, WHITE)
    board.play(PASS, BLACK)
    assert board.over
    assert "superko" in board.legality(at(board, 7, 2), WHITE)


def test_suicide_refused_but_a_capturing_move_is_not_suicide():
    board = from_diagram("""
        . O . . . . . . .
        O . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""")
    assert board.legality(at(board, 0, 0), BLACK) == "suicide is not allowed"
    with pytest.raises(IllegalMove):
        board.play(at(board, 0, 0), BLACK)
    board = from_diagram("""
        . O X . . . . . .
        O X . . . . . . .
        X . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""")
    board.play(at(board, 0, 0), BLACK)  # no liberty of its own, but it captures two stones
    assert board.captured[BLACK] == 2


def test_seki_points_count_for_nobody():
    board = from_diagram("""
        . X X X X O O O .
        X X X O . X O O O
        X . X O . X O . O
        X X X X O O O O O
        X X X X . O O O O
        X X X X . O O O O
        X X X X . O O O O
        X X X X . O O O O
        X X X X . O O O O""", komi=0.5)
    # a white string inside Black and a black string inside White share the two liberties of
    # the seki; those points, and the empty column between the walls, belong to nobody
    assert board.liberty_count(at(board, 1, 3)) == 2 and board.liberty_count(at(board, 1, 5)) == 2
    black, white = board.area()
    assert (black, white) == (35 + 2, 35 + 2)  # stones + one eye each at (0,0)/(2,1) and (0,8)/(2,7)
    assert board.score() == -0.5 and board.winner() == WHITE


def test_full_game_score_matches_the_real_result():
    (record,) = sgf.parse(REAL_RECORD, "real.sgf")
    assert record.komi == 7.5 and record.winner == WHITE
    board = record.final_board()
    assert len(board.moves) == 250
    assert board.score() == -2.5  # W+2.5
    assert board.winner() == WHITE


def test_zobrist_hash_is_the_position_not_the_path():
    a, b = Board(9), Board(9)
    for point, colour in ((0, BLACK), (40, WHITE), (10, BLACK)):
        a.play(point, colour)
    for point, colour in ((10, BLACK), (40, WHITE), (0, BLACK)):
        b.play(point, colour)
    assert a.hash == b.hash and a.colour == b.colour
    board = ko_board()
    before = board.hash
    board.play(at(board, 7, 3), BLACK)
    assert board.hash != before
    fresh = Board(9)
    fresh.setup([p for p in range(81) if board.colour[p] == BLACK], [p for p in range(81) if board.colour[p] == WHITE])
    assert fresh.hash == board.hash


def test_two_passes_end_the_game_and_sizes_are_checked():
    board = Board(13)
    board.play(PASS)
    assert not board.over and board.to_move == WHITE
    board.play(PASS)
    assert board.over
    with pytest.raises(ValueError):
        Board(7)
    assert len(Board(9).legal_moves()) == 81
