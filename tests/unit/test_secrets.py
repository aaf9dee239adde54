from __future__ import annotations

import pytest

from reminders.security.secrets import SecretDecryptionError, Signer, TokenCipher


def test_tokens_round_trip_and_are_not_stored_in_clear() -> None:
    cipher = TokenCipher("k" * 40)
    stored = cipher.encrypt('{"refresh_token": "1//secret"}')
    assert b"1//secret" not in stored
    assert cipher.decrypt(stored) == '{"refresh_token": "1//secret"}'


def test_a_rotated_key_still_reads_old_data_and_rotate_re_encrypts() -> None:
    old = TokenCipher("old-key" * 6)
    stored = old.encrypt("token")
    rotated = TokenCipher("new-key" * 6, previous=["old-key" * 6])

    assert rotated.decrypt(stored) == "token"
    assert TokenCipher("new-key" * 6).decrypt(rotated.rotate(stored)) == "token"


def test_a_lost_key_gives_a_readable_error() -> None:
    stored = TokenCipher("a" * 40).encrypt("token")
    with pytest.raises(SecretDecryptionError, match="reconnect the calendar"):
        TokenCipher("b" * 40).decrypt(stored)


def test_signatures_detect_tampering_and_depend_on_the_key() -> None:
    signer = Signer("k" * 40)
    signed = signer.sign("nonce-123")
    assert signer.unsign(signed) == "nonce-123"
    assert signer.unsign(signed.replace("123", "124")) is None
    assert signer.unsign("nonce-123") is None
    assert Signer("other" * 8).unsign(signed) is None
