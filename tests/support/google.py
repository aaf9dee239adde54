"""Pointing the service at the Google emulator."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from tests.emulators.google import GoogleEmulator


def google_settings(google: GoogleEmulator) -> dict[str, Any]:
    """The `Settings` fields that send every Google call to the emulator."""
    return {
        "google_client_id": google.client_id,
        "google_client_secret": SecretStr(google.client_secret),
        "google_auth_url": google.auth_url,
        "google_token_url": google.token_url,
        "google_revoke_url": google.revoke_url,
        "google_api_url": google.api_url,
    }
