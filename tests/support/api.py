"""The controller's HTTP API as tests call it (bearer token from the instance's secrets)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.support.system import SystemUnderTest


def agent_api(system: SystemUnderTest, path: str, method: str = "POST") -> dict[str, Any]:
    """One authorised request to the controller; the JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{system.settings.ports.http}{path}",
        method=method,
        headers={"Authorization": f"Bearer {system.instance.secrets.api_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body
