"""Workbench settings for the accessibility tests: the page language from the browser, and staff learners.

LocaleMiddleware picks the language from Accept-Language (Playwright's `locale`), as the LMS does
from the learner's preference, so the block renders in French or Arabic. A learner whose id starts
with "staff" is course staff and has an anonymous user id, as in the LMS, so the staff summary and
the accommodation form render and the username -> anonymous id lookup runs.
"""

from workbench.settings import *  # noqa: F403 - this module extends the workbench's own settings
from workbench.settings import MIDDLEWARE, WORKBENCH
from xblock.reference.user_service import UserService, XBlockUser

USE_I18N = True
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español"), ("ar", "العربية")]
MIDDLEWARE = list(MIDDLEWARE)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
    "django.middleware.locale.LocaleMiddleware",
)
WORKBENCH = dict(WORKBENCH, services={**WORKBENCH.get("services", {}), "user": "workbench_settings.LmsLikeUserService"})


class LmsLikeUserService(UserService):
    """The workbench user, with the LMS's opt_attrs: staff flag and anonymous user id."""

    runtime = None  # set by the workbench after construction

    def get_current_user(self):
        uid = str(getattr(self.runtime, "user_id", None) or "student_1")
        user = XBlockUser(is_current_user=True, emails=[f"{uid}@example.com"], full_name=f"XBlock User ({uid})")
        user.opt_attrs["xblock-workbench.user_id"] = uid
        user.opt_attrs["edx-platform.user_is_staff"] = uid.startswith("staff")
        user.opt_attrs["edx-platform.is_authenticated"] = True
        user.opt_attrs["edx-platform.anonymous_user_id"] = "anon-" + uid
        return user

    def get_anonymous_user_id(self, username, course_id):
        # As in the LMS: only staff may map a username to its anonymous id.
        if not self.get_current_user().opt_attrs["edx-platform.user_is_staff"]:
            return None
        return "anon-" + username
