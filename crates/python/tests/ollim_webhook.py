"""``webhook.py``'s WebhookSpec: string annotations (``from __future__ import annotations``), so
``parse_md`` coerces its ``str`` fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WebhookSpec:
    id: str
    message: str
    fields: dict
    isolated: bool = False
    model: str | None = None
    thinking: bool = True
    allow_ping: bool = True
    update_main_session: str = "on_ping"
    allowed_tools: list | None = None
