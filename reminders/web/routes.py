"""The application's route table, flattened: what tests and the page benchmark walk through."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute


def endpoints(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every endpoint, including those of included routers."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # FastAPI before lazily included routers: `app.routes` is flat
        return [(route.path, route) for route in app.routes if isinstance(route, APIRoute)]
    # Newer FastAPI keeps included routers as branches of `app.routes`.
    return [
        (context.path or "", context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
