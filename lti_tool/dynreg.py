"""The /lti/register route: LTI Dynamic Registration as Moodle 4.x, Canvas and Brightspace start it."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from .app import tool_of
from .lti.adapter import LaunchError
from .lti.dynreg import ToolRegistrar
from .registry import add_platform


def handle() -> Any:
    config_url = request.values.get("openid_configuration", "")
    if not config_url:
        raise LaunchError(
            "registration-start",
            "This is the tool's dynamic registration URL; it must be opened by the platform.",
            "In the platform's tool settings, paste this URL as the tool's registration URL.",
        )
    tool = tool_of(current_app)
    registrar = ToolRegistrar(
        openid_configuration=config_url,
        registration_token=request.values.get("registration_token"),
        base_url=request.url_root,
        title=current_app.config["TOOL_TITLE"],
        http=tool.adapter.http,
    )
    data = registrar.run()
    with tool.sessions() as s:
        reg = add_platform(s, **data)
        s.commit()
    tool.adapter.forget_platforms()
    return render_template("registered.html", issuer=data["issuer"], client_id=data["client_id"], reg_id=reg.id)
