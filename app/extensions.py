"""Unbound extensions, bound to an app by create_app()."""

from flask_appbuilder import Model
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.core.replica import RoutingSession

# FAB's security tables and the app's tables share this one metadata.
# The session sends a report's reads to the read replica when one is configured (app/core/replica.py).
db = SQLAlchemy(model_class=Model, session_options={"class_": RoutingSession})
migrate = Migrate()
