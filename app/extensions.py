"""Unbound extensions, bound to an app by create_app()."""

from flask_appbuilder import Model
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

# FAB's security tables and the app's tables share this one metadata.
db = SQLAlchemy(model_class=Model)
migrate = Migrate()
