"""Generate the churn example's datasets (deterministic: fixed numpy seeds).

    python examples/churn/data/make_datasets.py        # rewrites good.csv, worse.csv, corrupt.csv here

- good.csv:    2,000 customers, six numeric features and `churned`; the label follows a logistic model of
               the features, so a linear classifier reaches a validation AUC of about 0.85-0.9.
- worse.csv:   same schema and feature distribution, but most of the labelling signal is replaced by noise,
               so the same training scores clearly lower (validation AUC about 0.6): a challenger that must
               be rejected.
- corrupt.csv: a broken file for the bad-input demo (wrong header, ragged rows, non-numeric values).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "usage_gb",
    "contract_months",
    "days_since_last_login",
]
LABEL = "churned"
ROWS = 2000


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    tenure = rng.integers(1, 73, n)
    charges = np.round(rng.normal(65.0, 20.0, n).clip(15.0, 130.0), 2)
    calls = rng.poisson(1.5, n)
    usage = np.round(rng.gamma(2.0, 12.0, n), 2)
    contract = rng.choice([1, 12, 24], n, p=[0.5, 0.3, 0.2])
    last_login = rng.integers(0, 61, n)
    return np.column_stack([tenure, charges, calls, usage, contract, last_login]).astype(float)


WEIGHTS = (-0.9, 0.7, 0.8, -0.5, -0.6, 0.9)


def _logit(x: np.ndarray, weights: tuple[float, ...] = WEIGHTS) -> np.ndarray:
    # Churn rises with charges, support calls and days since last login; falls with tenure, usage and
    # a longer contract. Standardised so the weights read as effect sizes.
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return z @ np.array(weights) - 0.4


def _labels(rng: np.random.Generator, logit: np.ndarray, signal: float) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-signal * logit))
    return (rng.random(len(logit)) < p).astype(int)


def customers(
    seed: int, rows: int, signal: float, weights: tuple[float, ...] = WEIGHTS
) -> tuple[np.ndarray, np.ndarray]:
    """`rows` customers (features, churn labels) from `seed`; `signal` scales how much the features decide
    the label (good.csv 1.1, worse.csv 0.25); `weights` are the features' effects (other weights than
    WEIGHTS: concept drift, the demo's fresh data)."""
    rng = np.random.default_rng(seed)
    x = _features(rng, rows)
    return x, _labels(rng, _logit(x, weights), signal)


def csv_text(x: np.ndarray, y: np.ndarray) -> str:
    """The rows as the example's CSV: a header, then one customer a line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*FEATURES, LABEL])
    for row, label in zip(x, y, strict=True):
        tenure, charges, calls, usage, contract, last_login = row
        writer.writerow(
            [int(tenure), f"{charges:.2f}", int(calls), f"{usage:.2f}", int(contract), int(last_login), label]
        )
    return buf.getvalue()


def good(seed: int = 20261122) -> tuple[np.ndarray, np.ndarray]:
    return customers(seed, ROWS, signal=1.1)


def worse(seed: int = 20261123) -> tuple[np.ndarray, np.ndarray]:
    return customers(seed, ROWS, signal=0.25)


CORRUPT = """tenure_months,monthly_charges,support_calls,usage_gb,contract_month,days_since_last_login,churn
12,70.35,2,14.20,1,3,0
48,n/a,0,31.75,24,1
7,99.10,five,2.05,1,44,1
30,55.00,1,18.40,12,9,0,extra
,,,,,,
"""


def main() -> None:
    for name, (x, y) in {"good.csv": good(), "worse.csv": worse()}.items():
        (HERE / name).write_text(csv_text(x, y), encoding="utf-8")
    (HERE / "corrupt.csv").write_text(CORRUPT, encoding="utf-8")


if __name__ == "__main__":
    main()
