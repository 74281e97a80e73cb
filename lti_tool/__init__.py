"""CE Credit as an LTI 1.3 tool: `create_app(config)` builds the Flask application (see docs/lti.md)."""

from .app import create_app

__all__ = ["create_app"]
