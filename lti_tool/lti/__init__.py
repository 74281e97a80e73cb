"""The LTI 1.3 protocol layer: pylti1p3 behind a small interface (adapter.py)."""
