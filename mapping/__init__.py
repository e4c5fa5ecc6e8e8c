"""The Kirklees community asset map: a Flask app over PostGIS.

`create_app(config=None)` builds the app; nothing is created at import time.
"""
from __future__ import annotations

from flask import Flask

from mapping.core.config import Settings, checkout_folder


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides settings read from the environment (tests)."""
    settings = Settings.from_env().with_overrides(config)
    app = Flask(
        __name__,
        template_folder=str(checkout_folder("templates")),
        static_folder=str(checkout_folder("static")),
    )
    app.config.update(SECRET_KEY=settings.secret_key, JSON_SORT_KEYS=False)
    app.config.update(settings.extra)
    app.extensions["assetmap.settings"] = settings

    from mapping import display
    from mapping.api import gis
    from mapping.core import assets, db, errors, health, security
    from mapping.finder import reports, residents, volunteering
    from mapping.staff import admin, auth, editors, uploads
    from mapping.staff import impact as impact_editors
    from mapping.wards import councillors, impact

    # Pages cannot render without the browser libraries: refuse to start, not answer 500s.
    assets.check_installed()
    db.init_app(app, settings)
    errors.init_app(app)
    security.init_app(app, settings)
    auth.init_app(app)
    app.register_blueprint(health.bp)
    display.init_app(app)
    app.register_blueprint(assets.bp)
    app.register_blueprint(residents.bp)
    app.register_blueprint(councillors.bp)
    app.register_blueprint(volunteering.bp)
    app.register_blueprint(impact.bp)
    app.register_blueprint(gis.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(editors.bp)
    app.register_blueprint(impact_editors.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(uploads.bp)
    from mapping.api import feeds, ogc, openreferral, tiles

    app.register_blueprint(ogc.bp)
    app.register_blueprint(openreferral.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(tiles.bp)
    security.apply_rate_limits(app, settings)

    @app.context_processor
    def inject_settings():
        return {"settings": settings}

    return app
