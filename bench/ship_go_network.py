"""Ship a trained Go network with the package: copy a `dl go train` run's model.h5 to
dlcli/pretrained/go-network.h5 and write its card (go-network.md) from the run's own files and
the held-out scores of bench/bench_go_network.py.

    .venv/bin/python bench/ship_go_network.py TRAIN_RUN bench/results/go-network-shipped.json

Refuses a network at or over the course's 100,000 parameters, or a file of 1 MB or more.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "dlcli" / "pretrained" / "go-network.h5"


def chain(train_run: Path) -> list[Path]:
    """The training runs that made a network, first to last (following each run's --init)."""
    runs = [train_run]
    while (init := json.loads((runs[0] / "config.json").read_text())["options"].get("init")):
        runs.insert(0, Path(init).parent)
    return runs


def card(train_run: Path, scores: dict) -> str:
    config = json.loads((train_run / "config.json").read_text())
    metrics = json.loads((train_run / "metrics.json").read_text())
    runs = chain(train_run)
    trainings = "\n".join(f"dl {' '.join(json.loads((run / 'config.json').read_text())['argv'])}" for run in runs)
    stages = "\n".join(_stage(run) for run in runs)
    hours = sum(json.loads((run / "metrics.json").read_text())["wall_time_s"] for run in runs) / 3600
    data_run = Path(config["options"]["data"]).parent
    data = json.loads((data_run / "config.json").read_text())
    data_metrics = json.loads((data_run / "metrics.json").read_text())
    shards, games = scores["shards"], scores["games_data"]
    rows = "\n".join(f"| {name} | {games[name]['positions']:,} | {games[name]['policy_top1']:.4f} | "
                     f"{games[name]['policy_top5']:.4f} | {games[name]['value_mse']:.4f} |"
                     for name in ("moves 1-50", "moves 51-150", "moves 151+"))
    return f"""# The shipped Go network (`dlcli/pretrained/go-network.h5`)

Used by `dl go gtp`, `dl go match`, `dl go selfplay` when no `--model` is given and no
`dl go train` run exists, and wherever a network is named `default` (`policy:default`,
`dl go info default`, `dl go eval default ...`). Made by our own commands:

```bash
dl {' '.join(data['argv'])}
{trainings}
```

- Data: {data_metrics['files']:,} SGF files of strong AI play (`go/go_ai_games_sgf.zip`, see
  ../shared/datasets/PROVENANCE.md): {data_metrics['games']:,} games, {data_metrics['positions']:,} positions;
  {data_metrics['train_games']:,} games ({data_metrics['train_positions']:,} positions) trained on,
  {data_metrics['validation_games']:,} whole games ({data_metrics['validation_positions']:,} positions) held out
  (`--validation {data['options']['validation']}`, every 20th game). Value target: 1 if White won, else 0.
- Network: `{config['options']['network']}` tower, {metrics['parameters']:,} parameters (the course's limit:
  under 100,000), inputs the course's 31 planes (golois' encoding), heads `policy` (361) and `value`.
- Training, stage by stage (each a `dl go train` run; the network is saved in float32),
  {hours:.2f} h of training in all:
{stages}
- Versions: {', '.join(f'{k} {v}' for k, v in config['versions'].items())}.

## Scores on the held-out games (`dl go eval`)

On every held-out position (`{scores['command']}`, the run's validation shards):
policy top-1 **{shards['all']['policy_top1']:.4f}**, top-5 {shards['all']['policy_top5']:.4f}, value MSE
**{shards['all']['value_mse']:.4f}** over {shards['all']['positions']:,} positions (a constant 0.5 scores 0.25).

By phase, on the same games written to golois' games.data ({games['games']} games;
{games['left_out_with_setup_stones']} with handicap stones left out):

| moves | positions | policy top-1 | policy top-5 | value MSE |
|---|---|---|---|---|
{rows}
"""


def _stage(run: Path) -> str:
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    options = config["options"]
    start = "from scratch" if not options.get("init") else (
        "from the previous stage" + (", value head started afresh" if options.get("fresh_value_head") else ""))
    head = options.get("value_head", "course")
    return (f"  - {start}: seed {config['seed']}, {metrics['epochs']} epoch(s) of {metrics['train_positions']:,} positions, "
            f"the {head} value head, value loss weight {options['value_weight']}, "
            f"batch {options['batch_size']}, {options['optimizer']} at {options['learning_rate']} cosine-annealed to 0, "
            f"a random symmetry per batch, precision {metrics.get('precision', 'float32')}; {metrics['samples_per_s']:,} "
            f"positions/s, {metrics['wall_time_s'] / 3600:.2f} h on a 2-core CPU; held-out policy top-1 "
            f"{metrics['val_policy_accuracy']:.4f}, value MSE {metrics['val_value_mse']:.4f}")


def main() -> None:
    train_run, scores_file = Path(sys.argv[1]), Path(sys.argv[2])
    model = train_run / "model.h5"
    metrics = json.loads((train_run / "metrics.json").read_text())
    if metrics["parameters"] >= 100_000 or model.stat().st_size >= 1_000_000:
        raise SystemExit(f"{model}: {metrics['parameters']:,} parameters, {model.stat().st_size:,} bytes: too big to ship")
    shutil.copyfile(model, TARGET)
    TARGET.with_suffix(".md").write_text(card(train_run, json.loads(scores_file.read_text())))
    print(TARGET, TARGET.stat().st_size)


if __name__ == "__main__":
    main()
