"""Asynchronous SMS notifications: a reusable Django app (Celery workers, Twilio, DRF)."""
