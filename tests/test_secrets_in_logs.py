"""Credentials stay out of logs, Events and stored error texts: the HTTP client's own
request lines, vendor error bodies that echo what we sent."""

from __future__ import annotations

import logging

import httpx
import pytest

from core.http import error_text
from tests.ztp.test_sraps import URL, adapter_for
from ztp.fake_sraps import FakeSraps


def test_the_http_clients_request_lines_are_not_logged(caplog):
    """httpx logs every request's URL at INFO; vendor URLs carry access-key IDs (SRAPS's
    access-keys/{id}) and our provisioning token."""
    caplog.set_level(logging.INFO)  # LOG_LEVEL in production
    with FakeSraps() as fake:
        adapter = adapter_for(fake)
        account = adapter.onboard(reference="pm:acme", name="Acme", url=URL)
        adapter.rotate(account)
    assert account.key_id
    leaked = [
        r.getMessage()
        for r in caplog.records
        if account.key_id in r.getMessage() or "T0k" in r.getMessage()
    ]
    assert not leaked, leaked


@pytest.mark.parametrize(
    "body",
    [
        {"error": f"setting_server {URL} is not reachable"},
        {"message": "bad url https://pm.example.com/auto?Token=S3cr3t-value&x=1"},
        f"<html>cannot fetch {URL.replace('&', '%26').replace('=', '%3D')}</html>",
    ],
    ids=["json", "capitalised", "percent-encoded"],
)
def test_a_vendor_error_echoing_our_url_keeps_no_token(body):
    request = httpx.Request("PUT", "https://vendor.example/api")
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    text = error_text(httpx.Response(400, request=request, **kwargs))
    assert "T0k" not in text and "S3cr3t" not in text, text
    assert "token=…" in text.lower() or "token%3d…" in text.lower(), text
