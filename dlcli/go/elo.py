"""Elo ratings from game results: maximum-likelihood Bradley-Terry, with standard errors.

The model: player i beats player j with probability 1 / (1 + 10^((r_j - r_i) / 400)), so a 400
point difference is 10:1 odds. A game scores 1, 0.5 (draw: half a win and half a loss) or 0, and
the ratings maximise the log-likelihood sum s log p + (1 - s) log (1 - p) over all games.

The prior: each player also plays `prior` virtual draws against a reference player fixed at 0
(default one). Without it a player who won every game would have an infinite rating; with it the
maximum is always finite and unique, and the pull toward 0 fades as real games accumulate
(with 1 virtual draw against 100 real games the effect is about 1%). `prior=0` gives the plain
maximum-likelihood estimate, which exists only when no player (or group of players) won or lost
every one of its games.

The anchor: ratings are shifted so that their mean is 0, and each standard error is that of the
player's rating relative to that mean: the square root of the diagonal of P C P, where C is the
inverse of the Fisher information (the negative Hessian of the log-likelihood at the maximum)
and P = I - 11'/n centres it. The 95% interval is about +-1.96 standard errors.

Fitted with Newton's method on the natural scale (theta = r ln10 / 400), which converges in a
handful of steps since the log-likelihood is concave.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

ELO_PER_NAT = 400 / math.log(10)  # 173.7: Elo points per unit of the logistic's argument


def fit_elo(names: Sequence[str], games: Iterable[tuple[str, str, float]], *, prior: float = 1.0,
            iterations: int = 100, tolerance: float = 1e-10) -> dict[str, tuple[float, float]]:
    """{name: (elo, standard error)} from games (a, b, score of a in [0, 1]).

    `prior` virtual draws per player against a reference at 0 (see the module's notes); ratings
    have mean 0. Raises ValueError for an unknown name or a score outside [0, 1], and, with
    prior=0, when the maximum-likelihood ratings are infinite (someone won or lost everything).
    """
    names = list(names)
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        raise ValueError("player names must be distinct")
    n = len(names)
    if n == 0:
        return {}
    if prior < 0:
        raise ValueError("prior must be >= 0")
    count = np.zeros((n, n))   # games between i and j (symmetric)
    points = np.zeros((n, n))  # points i scored against j
    for a, b, score in games:
        if a not in index or b not in index:
            raise ValueError(f"unknown player {a if a not in index else b!r}")
        if not 0 <= score <= 1:
            raise ValueError(f"a game's score must be between 0 and 1, got {score}")
        if a == b:
            continue
        i, j = index[a], index[b]
        count[i, j] += 1
        count[j, i] += 1
        points[i, j] += score
        points[j, i] += 1 - score
    theta = np.zeros(n)
    converged = False
    for _ in range(iterations):
        gradient, information = _derivatives(theta, count, points, prior)
        step = np.linalg.solve(information, gradient) if prior > 0 else np.linalg.pinv(information) @ gradient
        step = np.clip(step, -2.0, 2.0)  # keeps the first steps sane when results are one-sided
        theta = theta + step
        if prior == 0:
            theta -= theta.mean()
            if np.abs(theta).max() > 40:  # ~7000 Elo: the maximum is at infinity
                raise ValueError("the ratings are infinite: a player won or lost every game; use a prior > 0")
        if np.abs(step).max() < tolerance:
            converged = True
            break
    if not converged:
        raise ValueError("the Elo fit did not converge" + ("; use a prior > 0" if prior == 0 else ""))
    _, information = _derivatives(theta, count, points, prior)
    covariance = np.linalg.inv(information) if prior > 0 else np.linalg.pinv(information)
    centre = np.eye(n) - np.full((n, n), 1 / n)
    variance = np.clip(np.diag(centre @ covariance @ centre), 0, None)
    elo = (theta - theta.mean()) * ELO_PER_NAT
    error = np.sqrt(variance) * ELO_PER_NAT
    return {name: (float(elo[i]), float(error[i])) for i, name in enumerate(names)}


def _derivatives(theta: np.ndarray, count: np.ndarray, points: np.ndarray,
                 prior: float) -> tuple[np.ndarray, np.ndarray]:
    """The log-likelihood's gradient and its negative Hessian (the Fisher information)."""
    p = 1 / (1 + np.exp(theta[None, :] - theta[:, None]))  # p[i, j]: i beats j
    weight = count * p * (1 - p)
    gradient = (points - count * p).sum(axis=1)
    information = np.diag(weight.sum(axis=1)) - weight
    if prior > 0:
        q = 1 / (1 + np.exp(-theta))  # against the reference at 0
        gradient += prior * (0.5 - q)
        information += np.diag(prior * q * (1 - q))
    return gradient, information


def wilson_interval(points: float, games: int, z: float = 1.96) -> list[float]:
    """Wilson's interval (95% for z = 1.96) of a win rate of `points` in `games` (draws count half),
    rounded to 4 places: the error bar of one match's result, as Elo's standard errors are a
    tournament's."""
    rate = points / games
    centre = (rate + z * z / (2 * games)) / (1 + z * z / games)
    half = z * ((rate * (1 - rate) / games + z * z / (4 * games * games)) ** 0.5) / (1 + z * z / games)
    return [round(max(centre - half, 0.0), 4), round(min(centre + half, 1.0), 4)]
