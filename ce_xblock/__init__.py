"""CE Credit: continuing-education credit for Open edX (XBlock) and LTI 1.3 platforms."""

__version__ = "0.1.0"
