"""dlcli: the deep-learning course as one command-line toolkit (`dl`)."""

__version__ = "0.1.0"
