"""The CE engine: plain Python shared by the XBlock and the LTI tool.

Nothing here imports XBlock, Flask or Django; time, randomness and keys come in as arguments.
"""
