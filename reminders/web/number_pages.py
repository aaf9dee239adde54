"""The blacklist and the invalid numbers: view, add by hand, remove after a confirmation.

Staff manage the lists too (a client says "no more SMS" at the front desk). The lists show
numbers in full, unlike the masked numbers elsewhere: they are the account's own lists, and the
owner needs the whole number to recognise an entry before removing it.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from reminders.accounts.service import FormErrors
from reminders.models import BlockedNumber
from reminders.numbers import blocklist
from reminders.numbers.typed import readable
from reminders.web import queries
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_
from reminders.web.paging import page_number, paging

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class NumberLine:
    """A list entry with its number grouped for reading."""

    entry: BlockedNumber
    shown: str


def number_router(web: Web) -> APIRouter:
    """The routes of the blacklist and the invalid numbers."""
    router = APIRouter()
    services = web.services
    signed = Depends(web.viewer)

    def known_kind(kind: str) -> str:
        if kind not in blocklist.KINDS:
            raise NotFound
        return kind

    def list_context(db: Session, viewer: Viewer, kind: str, page: int) -> dict[str, object]:
        counts = {k: blocklist.count(db, viewer.account_id, k) for k in blocklist.KINDS}
        shown = paging(counts[kind], page, PAGE_SIZE)
        rows = blocklist.entries(db, viewer.account_id, kind, offset=shown.offset, limit=shown.size)
        return {
            "kind": kind,
            "counts": counts,
            "paging": shown,
            "lines": [NumberLine(row, readable(row.number)) for row in rows],
        }

    @router.get("/numbers")
    def numbers(viewer: Annotated[Viewer, signed]) -> Response:
        return RedirectResponse("/numbers/blacklist", status_code=303)

    @router.get("/numbers/{kind}")
    def number_list(
        request: Request, kind: str, viewer: Annotated[Viewer, signed], page: str = "1"
    ) -> Response:
        kind = known_kind(kind)
        with services.reader() as db:
            context = list_context(db, viewer, kind, page_number(page))
        return web.page(request, "numbers/list.html", {**context, "form": {}, "errors": {}}, viewer=viewer)

    @router.post("/numbers/{kind}")
    def add_number(
        request: Request,
        kind: str,
        viewer: Annotated[Viewer, signed],
        number: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> Response:
        kind = known_kind(kind)
        errors: dict[str, str] = {}
        with services.factory.begin() as db:
            region = queries.account(db, viewer.account_id).home_region
            try:
                added = blocklist.add(
                    db,
                    viewer.account_id,
                    kind=kind,
                    typed=number,
                    note=note,
                    region=region,
                    now=services.clock(),
                )
            except FormErrors as exc:
                errors = exc.errors
            else:
                if not added.created:
                    errors = {"number": N_("This number is already on this list.")}
        if not errors:
            return RedirectResponse(f"/numbers/{kind}?notice=added", status_code=303)
        with services.reader() as db:
            context = list_context(db, viewer, kind, 1)
        return web.page(
            request,
            "numbers/list.html",
            {**context, "form": {"number": number, "note": note}, "errors": errors},
            viewer=viewer,
            status_code=422,
        )

    @router.get("/numbers/{entry_id}/remove")
    def confirm_remove(request: Request, entry_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.reader() as db:
            entry = blocklist.owned(db, viewer.account_id, entry_id)
        if entry is None:
            raise NotFound
        line = NumberLine(entry, readable(entry.number))
        return web.page(request, "numbers/remove.html", {"line": line}, viewer=viewer)

    @router.post("/numbers/{entry_id}/remove")
    def remove(request: Request, entry_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.factory.begin() as db:
            removed = blocklist.remove(db, viewer.account_id, entry_id)
        if removed is None:
            raise NotFound
        return RedirectResponse(f"/numbers/{removed.kind}?notice=removed", status_code=303)

    return router
