"""A small LTI 1.3 platform (LMS) on lti1p3platform for `ce-credit demo` and the end-to-end tests."""

from .app import DemoLMS, create_platform_app, launch_url, lms_of
from .server import ServerThread

__all__ = ["DemoLMS", "ServerThread", "create_platform_app", "launch_url", "lms_of"]
