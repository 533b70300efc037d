"""The hall model a server process serves from: one immutable :class:`~server.settings.HallConfig` at a time,
replaced whole when the database's model changes (never edited in place, so a request that read it keeps a
consistent picture to its end).

Services read it through :class:`ReadsHallModel`'s ``config`` property; whoever holds the process's
:class:`HallModel` (``server.services.hall_store.HallStore``) replaces it, and the listeners hear of it (the live
estimates refresh the changed branches, the live loop starts serving a new branch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from server.settings import HallConfig

ChangeListener = Callable[[HallConfig, HallConfig], None]


class HallModel:
    def __init__(self, config: HallConfig, revision: int = 0) -> None:
        self.current = config
        self.revision = revision
        self._listeners: list[ChangeListener] = []
        self._lock = threading.Lock()

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(old, new)`` after each replacement."""
        self._listeners.append(listener)

    def replace(self, config: HallConfig, revision: int) -> bool:
        """Serve ``config`` from now on, unless a model as new or newer is served already; whether it was."""
        with self._lock:
            if revision <= self.revision:
                return False
            old, self.current, self.revision = self.current, config, revision
        for listener in self._listeners:
            listener(old, config)
        return True


def model_of(config: HallConfig | HallModel) -> HallModel:
    """The model itself, or a fixed one around a configuration (a service built on its own, in a test)."""
    return config if isinstance(config, HallModel) else HallModel(config)


class ReadsHallModel:
    """A service that reads the hall model: ``self.config`` is always the one the process serves now."""

    model: HallModel

    @property
    def config(self) -> HallConfig:
        return self.model.current
