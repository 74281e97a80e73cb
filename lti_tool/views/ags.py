"""The `ags` blueprint: grade passback status as JSON for instructors (the outbox itself is lti_tool.outbox)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify
from sqlalchemy import select

from .. import launches
from ..app import tool_of
from ..store import OutboxScore

bp = Blueprint("ags", __name__, url_prefix="/lti/ags")


@bp.route("/<launch_id>/status")
def status(launch_id: str) -> Any:
    tool = tool_of(current_app)
    try:
        lc = launches.load(tool.cache, launch_id)
    except launches.LaunchExpired:
        abort(401)
    if not lc.is_instructor:
        abort(403)
    with tool.sessions() as s:
        rows = s.scalars(
            select(OutboxScore).where(OutboxScore.resource_link_pk == lc.resource_link_pk).order_by(OutboxScore.id)
        ).all()
        return jsonify(
            [
                {
                    "id": r.id,
                    "user": r.user_sub,
                    "score": r.score_given,
                    "max": r.score_maximum,
                    "status": r.status,
                    "tries": r.tries,
                    "last_error": r.last_error,
                    "last_problem": r.last_problem,
                    "timestamp": r.timestamp,
                    "comment": r.comment,
                }
                for r in rows
            ]
        )
