"""The XBlock tests share xbhelpers.py; pytest runs with --import-mode=importlib, so put it on the path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
