#!/usr/bin/env bash
# The AlphaZero loop with dl: self-play -> training data -> training -> match against the previous network.
#
#   examples/alphazero_loop.sh NET.h5 [GENERATIONS] [GAMES]
#
# NET.h5 is the starting network (a `dl go train` run folder or model file, course-shaped: 31 planes
# in, policy and value out). Each generation:
#   1. `dl go selfplay`   the current network plays GAMES games against itself, with search,
#                         Dirichlet noise and a temperature over the opening moves; every move's
#                         comment holds the search's estimate of White's winning chances;
#   2. `dl go data`       those records become 31-plane positions; the value target of a position is
#                         the search's estimate (what AlphaZero's value head learns from, here
#                         per move), the policy target the move played;
#   3. `dl go train`      a new network starts from the current one's weights (--init) and trains on them;
#   4. `dl go match`      new against current; the new network is kept when it scores 55% or more
#                         (AlphaGo Zero's gate), else the current one stays.
# Settings are small so that a generation runs in minutes on a CPU; raise them on real hardware.
# NETWORK/FILTERS/BLOCKS must describe the starting network (the default: `dl go train`'s baseline).
set -euo pipefail

current=${1:?usage: alphazero_loop.sh NET.h5 [GENERATIONS] [GAMES]}
generations=${2:-3}
games=${3:-20}
runs=${RUNS:-runs/alphazero}
search=(--playouts "${PLAYOUTS:-64}" --search-batch 8)
network=(--network "${NETWORK:-baseline}")
[[ -n "${FILTERS:-}" ]] && network+=(--filters "$FILTERS")
[[ -n "${BLOCKS:-}" ]] && network+=(--blocks "$BLOCKS")

for generation in $(seq 1 "$generations"); do
  echo "generation $generation: self-play with $current" >&2
  played=$(dl go selfplay --model "$current" --games "$games" "${search[@]}" --runs-dir "$runs" --quiet)
  data=$(dl go data "$played/games" --validation 0.1 --runs-dir "$runs" --quiet)
  candidate=$(dl go train --data "$data" "${network[@]}" --init "$current" --epochs "${EPOCHS:-2}" \
              --runs-dir "$runs" --quiet)
  rate=$(dl go match "$candidate" "$current" --games "${MATCH_GAMES:-10}" "${search[@]}" --runs-dir "$runs" \
         --quiet --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["a_win_rate"])')
  echo "generation $generation: the new network scores $rate against the previous one" >&2
  if python3 -c "import sys; sys.exit(0 if float('$rate') >= 0.55 else 1)"; then
    current=$candidate
  fi
done
echo "$current"
