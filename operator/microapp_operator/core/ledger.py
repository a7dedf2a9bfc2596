"""Who has committed how much: the operator's in-memory budget ledger.

Each app's current estimate (kept by the reconciler) plus short-lived reservations made by
the admission webhook for applies it has just allowed but the operator has not seen yet.
Admission runs on one event loop and its check-then-reserve step has no ``await`` inside,
so two concurrent applies can never both fit into the last remaining budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

Key = tuple[str, str]


@dataclass(frozen=True)
class Entry:
    team: str
    amount: Decimal


class Ledger:
    def __init__(self, clock: Callable[[], float], *, reservation_ttl: float = 30.0) -> None:
        self.clock = clock
        self.ttl = reservation_ttl
        self.apps: dict[Key, Entry] = {}
        self.reservations: dict[Key, tuple[Entry, float]] = {}

    def set_app(self, key: Key, team: str, amount: Decimal) -> bool:
        """Record an app's estimate; True if it changed."""
        entry = Entry(team, amount)
        changed = self.apps.get(key) != entry
        self.apps[key] = entry
        return changed

    def remove_app(self, key: Key) -> Entry | None:
        self.reservations.pop(key, None)
        return self.apps.pop(key, None)

    def reserve(self, key: Key, team: str, amount: Decimal) -> None:
        """Hold ``amount`` for ``key`` until the reconciler has seen the applied app."""
        self.reservations[key] = (Entry(team, amount), self.clock() + self.ttl)

    def _live(self) -> dict[Key, Entry]:
        now = self.clock()
        for key in [k for k, (_, exp) in self.reservations.items() if exp <= now]:
            del self.reservations[key]
        merged = dict(self.apps)
        merged.update({k: e for k, (e, _) in self.reservations.items()})  # the newest intent wins
        return merged

    def reservation(self, key: Key) -> Entry | None:
        """What admission still holds for ``key`` (None once it expired or was never made)."""
        held = self.reservations.get(key)
        return held[0] if held is not None and held[1] > self.clock() else None

    def current(self, key: Key) -> Entry | None:
        return self._live().get(key)

    def committed(self, team: str, *, excluding: Key | None = None) -> tuple[Decimal, int]:
        """(sum, number of apps) committed by ``team``."""
        entries = [e for k, e in self._live().items() if e.team == team and k != excluding]
        return sum((e.amount for e in entries), Decimal(0)), len(entries)
