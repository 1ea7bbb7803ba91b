"""Validated engine limits (the ``[data]``, ``[output]``, ``[download]`` and ``[search]`` tables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from sandbox.limits import FROZEN

__all__ = ["DataLimits", "DownloadLimits", "EngineLimits", "ModelLimits", "TextLimits", "OutputLimits", "SearchLimits"]



class DataLimits(BaseModel):
    """Dataset size caps; 0 disables a cap."""

    model_config = FROZEN

    max_rows: int = Field(250_000, ge=0)
    max_columns: int = Field(2000, ge=0)
    max_dataset_mb: int = Field(100, ge=0)


class OutputLimits(BaseModel):
    """What the engine returns."""

    model_config = FROZEN

    plot_dpi: int = Field(80, ge=30, le=300)
    max_model_mb: int = Field(8, ge=0)
    """0 = never return the model."""
    max_explain_rows: int = Field(2000, ge=50)
    bootstrap_resamples: int = Field(200, ge=20, le=10_000)
    """Resamples for ``showConfidenceIntervals`` bootstrap intervals."""


class DownloadLimits(BaseModel):
    """Datasets fetched by URL and non-bundled samples."""

    model_config = FROZEN

    max_download_mb: int = Field(100, gt=0)
    timeout_seconds: float = Field(30, gt=0)
    allowed_hosts: list[str] = []
    cache_dir: str = ""
    max_redirects: int = Field(5, ge=0, le=20)
    """Redirects followed per download, each re-checked like the first URL."""

    def cache_path(self) -> Path:
        """``cache_dir``, or ``~/.cache/automl-worker/datasets`` when it is empty. The parent resolves
        it (a job's ``HOME`` is its own temp dir, gone when the job ends) and sends the absolute path."""
        configured = self.cache_dir
        return Path(configured).expanduser() if configured else Path.home() / ".cache" / "automl-worker" / "datasets"


class SearchLimits(BaseModel):
    """Hyperparameter search."""

    model_config = FROZEN

    max_trials: int = Field(200, gt=0)
    budget_fraction: float = Field(0.5, gt=0, le=0.9)


class ModelLimits(BaseModel):
    """Ceilings on a model's size that protect the job's memory and time; 0 = no ceiling.

    A larger request is clamped to the ceiling with a warning (``executor.algorithms.ResourceCaps``).
    """

    model_config = FROZEN

    max_estimators: int = Field(0, ge=0)
    """Most trees in a forest or boosting ensemble."""
    max_hidden_units: int = Field(0, ge=0)
    """Most neurons summed over a neural network's hidden layers."""
    max_iter: int = Field(0, ge=0)
    """Most optimiser iterations or epochs."""


class TextLimits(BaseModel):
    """How long a parsed user string may be, and how much an error may say (``[request]``)."""

    model_config = FROZEN

    max_problems: int = Field(20, ge=1, le=1000)
    """Problems one error lists; the rest are counted ("... and N more")."""
    max_echo_chars: int = Field(200, ge=16, le=100_000)
    """Characters of any value, id or name an error echoes back."""
    max_param_chars: int = Field(256, ge=16, le=100_000)
    """Characters of a hyperparameter or config string the engine parses (layer sizes, lists)."""


class EngineLimits(BaseModel):
    """Everything the engine needs from limits.toml, sent to the child with each request."""

    model_config = FROZEN

    data: DataLimits = DataLimits()
    output: OutputLimits = OutputLimits()
    download: DownloadLimits = DownloadLimits()
    search: SearchLimits = SearchLimits()
    text: TextLimits = TextLimits()
    model: ModelLimits = ModelLimits()
