"""The tool's blueprints: lti (protocol), learner, instructor, verify, ags."""
