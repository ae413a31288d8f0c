"""How numbers are shown in tables and lines: shared by the live display and `dl runs` (no Keras here)."""

from __future__ import annotations

import math
from typing import Any


def format_value(value: Any) -> str:
    """Numbers with 4 significant decimals, counts with thousands separators, the rest as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if abs(value) >= 1e5 or 0 < abs(value) < 1e-3:
            return f"{value:.4g}"
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)
