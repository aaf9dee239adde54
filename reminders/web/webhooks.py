"""Push notifications from calendar providers: verified, acknowledged at once, synced soon after."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from reminders.bootstrap import Services
from reminders.calendars import google_link, microsoft_link
from reminders.calendars.linking import PUSH_DEBOUNCE

log = logging.getLogger(__name__)


def webhook_router(services: Services) -> APIRouter:
    """The webhook routes, bound to the process's services."""
    router = APIRouter()

    def wake() -> None:
        if services.wake_sync is not None:
            services.wake_sync(services.clock() + PUSH_DEBOUNCE)

    @router.post("/webhooks/google")
    def google(
        x_goog_channel_id: Annotated[str, Header()] = "",
        x_goog_channel_token: Annotated[str, Header()] = "",
        x_goog_resource_state: Annotated[str, Header()] = "",
    ) -> Response:
        result = google_link.handle_push(
            services,
            channel_id=x_goog_channel_id,
            token=x_goog_channel_token,
            resource_state=x_goog_resource_state,
        )
        if not result.accepted:
            log.warning("google.push.rejected channel=%s", x_goog_channel_id[:64])
            return Response(status_code=404)
        if x_goog_resource_state != "sync":
            wake()
        return Response(status_code=200)

    @router.post("/webhooks/microsoft")
    async def microsoft(request: Request, validationToken: str | None = None) -> Response:  # noqa: N803 - Graph's name
        # Graph checks the URL before it creates a subscription: echo the token as plain text.
        if validationToken is not None:
            return PlainTextResponse(validationToken)
        accepted = await run_in_threadpool(
            microsoft_link.handle_notifications, services, await _json(request)
        )
        if accepted:
            wake()
        # Acknowledge at once (Graph wants an answer within 3 s); the sync runs after the response.
        return Response(status_code=202)

    @router.post("/webhooks/microsoft/lifecycle")
    async def microsoft_lifecycle(
        request: Request,
        background: BackgroundTasks,
        validationToken: str | None = None,  # noqa: N803
    ) -> Response:
        if validationToken is not None:
            return PlainTextResponse(validationToken)
        # Renewing or recreating a subscription calls Graph: do it after answering.
        background.add_task(microsoft_link.handle_lifecycle, services, await _json(request))
        return Response(status_code=202)

    return router


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
