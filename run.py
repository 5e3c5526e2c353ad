"""WSGI entry point: gunicorn and `flask --app run` load `app` from here."""

import os

from app import create_app

app = create_app(os.environ.get("APP_CONFIG", "config.ProductionConfig"))
