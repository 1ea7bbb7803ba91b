"""``python app.py`` starts the worker while Gradio is imported: the cold start, side by side.

The sandbox's template imports the engine's libraries (numpy, pandas, scikit-learn, XGBoost,
matplotlib) in its own process, and the self-check then runs its probe jobs; meanwhile this
process imports Gradio and builds the page. :meth:`EarlyStart.begin` is called by app.py before
it imports Gradio; :meth:`EarlyStart.worker` waits for the worker before the server starts, so no
request ever finds it unready.
"""

from __future__ import annotations

import threading

from service.config import ConfigError, Settings, load_settings
from service.memory import fix_mmap_threshold
from service.worker import Worker

__all__ = ["EarlyStart"]


class EarlyStart:
    """The limits file loaded and the worker starting in a thread (or the error that stopped it)."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.error: BaseException | None = None
        self._worker: Worker | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def begin(cls) -> EarlyStart:
        """Load limits.toml and start the worker in the background. Never raises: a bad limits
        file or a template that cannot start is raised by :meth:`worker`."""
        early = cls()
        fix_mmap_threshold()  # large request bodies go back to the system once freed
        try:
            early.settings = load_settings()
        except ConfigError as exc:
            early.error = exc
            return early
        early._worker = Worker(early.settings)
        early._thread = threading.Thread(target=early._start, name="worker-start", daemon=True)
        early._thread.start()
        return early

    def _start(self) -> None:
        assert self._worker is not None
        try:
            self._worker.start()
        except BaseException as exc:  # raised in the main thread by worker()
            self.error = exc

    def worker_unstarted(self) -> Worker:
        """The worker object while it starts (to build the page around it); raises a config error."""
        if self._worker is None:
            assert self.error is not None
            raise self.error
        return self._worker

    def worker(self) -> Worker:
        """The started worker; raises what stopped it (ConfigError, TemplateError...)."""
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            if self._worker is not None:
                self._worker.close()
            raise self.error
        assert self._worker is not None
        return self._worker
