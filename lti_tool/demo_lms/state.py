"""The demo LMS's memory: course, roster, resource links, line items, the gradebook and every score received.

Everything lives in one lock-guarded object so that the threaded server, the page and the tests
see one consistent gradebook. With a `state_file` it is also written to JSON after each change,
so restarting `ce-credit demo` keeps the links and scores the tool already knows about.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ROLE_URIS = {
    "learner": [LEARNER_ROLE, "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"],
    "instructor": [INSTRUCTOR_ROLE, "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"],
}

ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")


@dataclass
class User:
    """A course member. `role` is the course role NRPS reports ("learner" or "instructor")."""

    id: str
    given_name: str
    family_name: str
    email: str
    role: str = "learner"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


DEFAULT_USERS = (
    User("learner-ada", "Ada", "Okafor", "ada.okafor@example.org", "learner"),
    User("learner-ben", "Ben", "Lindqvist", "ben.lindqvist@example.org", "learner"),
    User("learner-mei", "Mei", "Chen", "mei.chen@example.org", "learner"),
    User("instructor-iris", "Iris", "Mendes", "iris.mendes@example.org", "instructor"),
)


@dataclass
class ToolRegistration:
    """What the platform knows about the one tool it launches."""

    client_id: str
    deployment_id: str
    login_url: str
    launch_url: str
    jwks_url: str
    deep_link_url: str = ""
    name: str = "CE Credit"

    def redirect_uris(self) -> set[str]:
        return {u for u in (self.launch_url, self.deep_link_url) if u}


@dataclass
class ResourceLink:
    """A placement of the tool in the course: what a learner launches."""

    id: str
    title: str
    url: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    line_item_id: str | None = None
    text: str = ""


@dataclass
class LineItem:
    """A gradebook column (AGS line item). `id` is the platform's short id, not the URL."""

    id: str
    label: str
    score_maximum: float
    resource_id: str = ""
    tag: str = ""
    resource_link_id: str = ""
    start_date_time: str = ""
    end_date_time: str = ""


class ScoreError(ValueError):
    """A score POST the platform refuses (HTTP 400): the message names the field and the rule."""


def _parse_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ScoreError(f"timestamp {value!r} must be an ISO 8601 string with a timezone, e.g. 2026-01-31T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScoreError(f"timestamp {value!r} is not ISO 8601; send e.g. 2026-01-31T10:00:00+00:00") from exc
    if parsed.tzinfo is None:
        raise ScoreError(f"timestamp {value!r} has no timezone; add one, e.g. +00:00 or Z")
    return parsed


class LMSState:
    """Thread-safe store for one demo course. All public methods take the lock."""

    def __init__(
        self,
        users: tuple[User, ...] = DEFAULT_USERS,
        context: dict[str, str] | None = None,
        state_file: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.users = {u.id: u for u in users}
        self.context = context or {"id": "demo-course", "label": "CE-101", "title": "CE Credit demo course"}
        self.links: dict[str, ResourceLink] = {}
        self.line_items: dict[str, LineItem] = {}
        # (line item id, user id) -> the score as last applied
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        # every score POST that reached the gradebook, with what became of it
        self.score_log: list[dict[str, Any]] = []
        self.next_id = 1
        self.state_file = state_file
        if state_file and os.path.exists(state_file):
            self._load(state_file)

    # -- persistence -------------------------------------------------------------------------
    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.links = {d["id"]: ResourceLink(**d) for d in data.get("links", [])}
        self.line_items = {d["id"]: LineItem(**d) for d in data.get("line_items", [])}
        self.results = {(r["line_item_id"], r["userId"]): r for r in data.get("results", [])}
        self.score_log = data.get("score_log", [])
        self.next_id = data.get("next_id", 1)

    def _save(self) -> None:
        if not self.state_file:
            return
        data = {
            "links": [asdict(x) for x in self.links.values()],
            "line_items": [asdict(x) for x in self.line_items.values()],
            "results": list(self.results.values()),
            "score_log": self.score_log,
            "next_id": self.next_id,
        }
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.state_file)  # atomic, so a crash never leaves half a gradebook

    def _new_id(self, prefix: str) -> str:
        value = f"{prefix}{self.next_id}"
        self.next_id += 1
        return value

    # -- links and line items ----------------------------------------------------------------
    def add_link(
        self,
        title: str,
        url: str = "",
        custom: dict[str, str] | None = None,
        line_item: dict[str, Any] | None = None,
        text: str = "",
        link_id: str | None = None,
    ) -> ResourceLink:
        """Add a resource link; `line_item` (a Deep Linking `lineItem`) makes its gradebook column."""
        with self.lock:
            link = ResourceLink(
                id=link_id or self._new_id("rl-"),
                title=title or "Untitled activity",
                url=url,
                custom={str(k): str(v) for k, v in (custom or {}).items()},
                text=text,
            )
            self.links[link.id] = link
            if line_item is not None:
                item = self.create_line_item(
                    {
                        "label": line_item.get("label") or link.title,
                        "scoreMaximum": line_item.get("scoreMaximum", 100),
                        "resourceId": line_item.get("resourceId", ""),
                        "tag": line_item.get("tag", ""),
                        "resourceLinkId": link.id,
                    }
                )
                link.line_item_id = item.id
            self._save()
            return link

    def create_line_item(self, data: dict[str, Any]) -> LineItem:
        label = data.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ScoreError(f"line item label {label!r} must be a non-empty string")
        maximum = data.get("scoreMaximum")
        if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
            raise ScoreError(f"line item scoreMaximum {maximum!r} must be a number greater than 0")
        rlid = data.get("resourceLinkId") or ""
        with self.lock:
            if rlid and rlid not in self.links:
                raise ScoreError(f"resourceLinkId {rlid!r} is not a resource link of this course")
            item = LineItem(
                id=self._new_id("li-"),
                label=label,
                score_maximum=float(maximum),
                resource_id=str(data.get("resourceId") or ""),
                tag=str(data.get("tag") or ""),
                resource_link_id=rlid,
                start_date_time=str(data.get("startDateTime") or ""),
                end_date_time=str(data.get("endDateTime") or ""),
            )
            self.line_items[item.id] = item
            if rlid and self.links[rlid].line_item_id is None:
                self.links[rlid].line_item_id = item.id
            self._save()
            return item

    def update_line_item(self, item_id: str, data: dict[str, Any]) -> LineItem:
        with self.lock:
            item = self.line_items[item_id]
            if "label" in data:
                item.label = str(data["label"])
            if "scoreMaximum" in data:
                item.score_maximum = float(data["scoreMaximum"])
            for key, attr in (("resourceId", "resource_id"), ("tag", "tag")):
                if key in data:
                    setattr(item, attr, str(data[key] or ""))
            self._save()
            return item

    def delete_line_item(self, item_id: str) -> None:
        with self.lock:
            del self.line_items[item_id]
            self.results = {k: v for k, v in self.results.items() if k[0] != item_id}
            for link in self.links.values():
                if link.line_item_id == item_id:
                    link.line_item_id = None
            self._save()

    # -- scores ------------------------------------------------------------------------------
    def post_score(self, item_id: str, score: dict[str, Any]) -> str:
        """Apply an AGS score. Returns "created", "success", "duplicate" or "oldtimestamp".

        A resend of the same score (same user, timestamp and value) is acknowledged without being
        applied again, as AGS allows; it is logged as "duplicate" so tests can count resends.
        """
        if not isinstance(score, dict):
            raise ScoreError("the score must be a JSON object")
        user_id = score.get("userId")
        if not isinstance(user_id, str) or not user_id:
            raise ScoreError(f"userId {user_id!r} must be the LTI user id (the launch's sub)")
        stamp = _parse_timestamp(score.get("timestamp"))
        if score.get("activityProgress") not in ACTIVITY_PROGRESS:
            raise ScoreError(f"activityProgress {score.get('activityProgress')!r} must be one of {ACTIVITY_PROGRESS}")
        if score.get("gradingProgress") not in GRADING_PROGRESS:
            raise ScoreError(f"gradingProgress {score.get('gradingProgress')!r} must be one of {GRADING_PROGRESS}")
        given = score.get("scoreGiven")
        maximum = score.get("scoreMaximum")
        if given is not None:
            if isinstance(given, bool) or not isinstance(given, int | float) or given < 0:
                raise ScoreError(f"scoreGiven {given!r} must be a number of at least 0")
            if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
                raise ScoreError(f"scoreMaximum {maximum!r} must be a number greater than 0 when scoreGiven is sent")
        with self.lock:
            if item_id not in self.line_items:
                raise KeyError(item_id)
            key = (item_id, user_id)
            previous = self.results.get(key)
            entry = {
                "line_item_id": item_id,
                "userId": user_id,
                "scoreGiven": given,
                "scoreMaximum": maximum,
                "comment": score.get("comment") or "",
                "timestamp": score["timestamp"],
                "activityProgress": score["activityProgress"],
                "gradingProgress": score["gradingProgress"],
                "received_at": time.time(),
            }
            outcome = "created" if previous is None else "success"
            if previous is not None:
                before = _parse_timestamp(previous["timestamp"])
                if stamp < before:
                    outcome = "oldtimestamp"
                elif stamp == before and previous["scoreGiven"] == given and previous["comment"] == entry["comment"]:
                    outcome = "duplicate"
            self.score_log.append({**entry, "outcome": outcome})
            if outcome in ("created", "success"):
                self.results[key] = entry
            self._save()
            return outcome

    # -- views -------------------------------------------------------------------------------
    def link_for_line_item(self, item_id: str) -> ResourceLink | None:
        item = self.line_items.get(item_id)
        return self.links.get(item.resource_link_id) if item and item.resource_link_id else None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe copy of the course for the page and the tests."""
        with self.lock:
            return {
                "context": dict(self.context),
                "users": [{**asdict(u), "name": u.name} for u in self.users.values()],
                "links": [asdict(x) for x in self.links.values()],
                "line_items": [asdict(x) for x in self.line_items.values()],
                "results": [dict(r) for r in self.results.values()],
                "score_log": [dict(e) for e in self.score_log],
            }
