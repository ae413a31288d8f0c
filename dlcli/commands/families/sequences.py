"""The sequence family (`dl textgen`, `dl timeseries`): comma-separated option values, --limit for
data files read before the run folder exists, and textgen's samples.md. The window pipeline is
`dlcli.data.sequences.window_batches`; the forecasting scores sit with the LSTM in
`dlcli.models.timeseries`."""

from __future__ import annotations

from typing import Callable, Optional

from dlcli.checks import check_range
from dlcli.errors import DlcliError

SHOWN_CHARACTERS = 48  # of the one sample shown live after each epoch


def comma_separated(option: str, given: str, convert: Callable[[str], float], low: float, *, low_open: bool,
                    example: str) -> tuple:
    """'0.2,0.5' -> (0.2, 0.5) with `convert`; at least one value, each checked against `low`."""
    try:
        values = tuple(convert(part) for part in given.split(",") if part.strip())
    except ValueError:
        raise DlcliError(f"{option} takes {convert.__name__} values separated by commas, e.g. {example}; got '{given}'") from None
    if not values:
        raise DlcliError(f"{option} needs at least one value, e.g. {example}")
    for value in values:
        check_range(option, value, low, low_open=low_open)
    return values


def limited(dataset, limit: Optional[int]):
    """`dataset` cut to --limit, as `dlcli.data.load` cuts the datasets it loads by name."""
    return dataset.head(limit) if limit else dataset


def decode(ids, characters: str) -> str:
    return "".join(characters[int(i)] for i in ids)


class SampleBook:
    """The samples of every epoch, as the markdown of samples.md."""

    def __init__(self, name: str, window: int, length: int):
        self.header = (f"# textgen {name}: samples\n\nAfter each epoch, a random {window}-character seed from the "
                       f"text is continued for {length} characters at each temperature (the course's reweighting).\n")
        self.epochs: list[tuple[int, float, str, dict[float, str]]] = []

    def add(self, epoch: int, loss: float, seed: str, samples: dict[float, str]) -> None:
        self.epochs.append((epoch, loss, seed, samples))

    def as_json(self) -> list:
        """The samples as JSON (a checkpoint keeps them, so a resumed run's samples.md keeps them too)."""
        return [[epoch, loss, seed, [[t, text] for t, text in samples.items()]] for epoch, loss, seed, samples in self.epochs]

    def extend(self, saved: list) -> None:
        """Take back the samples `as_json` gave."""
        self.epochs += [(epoch, loss, seed, {float(t): text for t, text in samples}) for epoch, loss, seed, samples in saved]

    def markdown(self) -> str:
        parts = [self.header]
        for epoch, loss, seed, samples in self.epochs:
            parts.append(f"\n## Epoch {epoch} (loss {loss:.4f})\n\nSeed:\n\n~~~~text\n{seed}\n~~~~\n")
            for temperature, sample in samples.items():
                parts.append(f"\nTemperature {temperature}:\n\n~~~~text\n{sample}\n~~~~\n")
        return "".join(parts)

    def line(self, temperature: float) -> str:
        """One short sample for the live display (the temperature closest to `temperature`)."""
        epoch, _, _, samples = self.epochs[-1]
        chosen = min(samples, key=lambda t: abs(t - temperature))
        short = " ".join(samples[chosen].split())[:SHOWN_CHARACTERS]
        return f"(t={chosen}) {short}"

    def last_samples(self) -> dict[str, str]:
        return {str(t): sample for t, sample in self.epochs[-1][3].items()} if self.epochs else {}


