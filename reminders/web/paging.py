"""Numbered pages of a long list (`?page=N`), the same on every page that needs them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Paging:
    """Which slice of `total` rows the page shows; `number` is 1-based and within range."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def paging(total: int, asked: int, size: int = 50) -> Paging:
    """The page asked for, moved into range (a stale link to page 9 of 3 shows page 3)."""
    last = max(1, -(-total // size))
    return Paging(number=min(max(asked, 1), last), size=size, total=total)


def page_number(text: str) -> int:
    """`?page=` as a number; anything else (a mangled link) is the first page."""
    return int(text) if text.isdigit() and len(text) < 7 else 1
