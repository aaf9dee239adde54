"""Pointing the service at the Microsoft emulator, and signing in through the real MSAL flow."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from connectors.calendars.microsoft import MicrosoftApp, TokenCacheState, finish_flow, start_flow
from tests.emulators.microsoft import MicrosoftEmulator


def microsoft_settings(ms: MicrosoftEmulator) -> dict[str, Any]:
    """The `Settings` fields that send every Microsoft call to the emulator."""
    return {
        "microsoft_client_id": ms.client_id,
        "microsoft_client_secret": SecretStr(ms.client_secret),
        "microsoft_authority": ms.authority,
        "microsoft_graph_url": ms.graph_url,
        "microsoft_ca_bundle": ms.ca_bundle,
    }


def sign_in(ms: MicrosoftEmulator, app: MicrosoftApp, email: str) -> TokenCacheState:
    """A token cache for `email`, obtained through the authorize and token endpoints as a browser would."""
    ms.set_consenting_user(email)
    url, flow = start_flow(app, state="bench")
    answer = httpx.get(url, verify=ms.ssl_context(), follow_redirects=False)
    query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    return finish_flow(app, flow, query)
