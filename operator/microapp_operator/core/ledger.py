"""Who has committed how much: the operator's in-memory budget ledger.

Each app's current estimate (kept by the reconciler) plus reservations made by the admission
webhook for applies it has just allowed but the reconciler has not priced yet. Admission runs
on one event loop and its check-then-reserve step has no ``await`` inside, so two concurrent
applies can never both fit into the last remaining budget.

A reservation is held for the admitted generation of the app until the reconciler records an
estimate for that generation or a later one, however long the reconcile backlog. Only a
reservation whose apply never arrived (another webhook refused it after ours admitted it: no
event with that generation within ``unseen_ttl`` seconds) expires.
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


@dataclass(frozen=True)
class Reservation:
    entry: Entry
    generation: int          # the admitted generation of the app
    expires: float | None    # None once an event with that generation was seen


class Ledger:
    def __init__(self, clock: Callable[[], float], *, unseen_ttl: float = 60.0) -> None:
        self.clock = clock
        self.ttl = unseen_ttl
        self.apps: dict[Key, Entry] = {}
        self.reservations: dict[Key, Reservation] = {}

    def set_app(self, key: Key, team: str, amount: Decimal, *, generation: int | None = None) -> bool:
        """Record an app's estimate for ``generation``; True if the committed amounts changed.
        A reservation for that generation or an earlier one is released."""
        entry = Entry(team, amount)
        changed = self.apps.get(key) != entry
        self.apps[key] = entry
        held = self.reservations.get(key)
        if held is not None and generation is not None and generation >= held.generation:
            del self.reservations[key]
            changed = changed or held.entry != entry
        return changed

    def remove_app(self, key: Key) -> Entry | None:
        self.reservations.pop(key, None)
        return self.apps.pop(key, None)

    def reserve(self, key: Key, team: str, amount: Decimal, *, generation: int) -> None:
        """Hold ``amount`` for ``key`` until the reconciler has priced ``generation``."""
        self.reservations[key] = Reservation(Entry(team, amount), generation, self.clock() + self.ttl)

    def seen(self, key: Key, generation: int) -> None:
        """The admitted apply arrived (an event with that generation): hold until priced."""
        held = self.reservations.get(key)
        if held is not None and held.expires is not None and generation >= held.generation:
            self.reservations[key] = Reservation(held.entry, held.generation, None)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, r in self.reservations.items() if r.expires is not None and r.expires <= now]:
            del self.reservations[key]

    def _live(self) -> dict[Key, Entry]:
        self._expire()
        merged = dict(self.apps)
        merged.update({k: r.entry for k, r in self.reservations.items()})  # the newest intent wins
        return merged

    def reservation(self, key: Key) -> Entry | None:
        """What admission still holds for ``key`` (None once released, expired or never made)."""
        self._expire()
        held = self.reservations.get(key)
        return held.entry if held is not None else None

    def current(self, key: Key) -> Entry | None:
        """What counts for ``key`` now: its reservation while held, else its estimate."""
        self._expire()
        held = self.reservations.get(key)
        return held.entry if held is not None else self.apps.get(key)

    def committed(self, team: str, *, excluding: Key | None = None) -> tuple[Decimal, int]:
        """(sum, number of apps) committed by ``team``."""
        entries = [e for k, e in self._live().items() if e.team == team and k != excluding]
        return sum((e.amount for e in entries), Decimal(0)), len(entries)
