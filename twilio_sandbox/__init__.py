"""A local Twilio sandbox (Messages API + Verify v2) for offline development and tests."""

__version__ = "0.1.0"
