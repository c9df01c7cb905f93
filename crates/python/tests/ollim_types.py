"""The reference's dataclass shapes (ollim-bot.md section 5): real annotations, as in
``routines.py`` and ``reminders.py`` (no ``from __future__ import annotations``)."""

from dataclasses import dataclass
from typing import Optional


@dataclass
class Routine:
    id: str
    message: str
    cron: str
    background: bool = False
    model: Optional[str] = None
    thinking: bool = True
    isolated: bool = False
    description: str = ""
    update_main_session: str = "on_ping"
    allow_ping: bool = True
    allowed_tools: Optional[list] = None
    skills: Optional[list] = None


@dataclass
class Reminder:
    id: str
    message: str
    run_at: str
    background: bool = False
    chain_depth: int = 0
    max_chain: int = 0
    chain_parent: Optional[str] = None
    model: Optional[str] = None
    thinking: bool = True
    isolated: bool = False
    description: str = ""
    update_main_session: str = "on_ping"
    allow_ping: bool = True
    allowed_tools: Optional[list] = None
    skills: Optional[list] = None


@dataclass
class SessionEvent:
    session_id: str
    event: str
    timestamp: str
    parent_session_id: Optional[str] = None


@dataclass
class Item:
    """The shape of the reference's JSONL tests (``{"id": "b"}`` rewritten with ``v``)."""

    id: str
    v: int = 0
