"""Hall queue server. ``python -m server`` runs it; :func:`server.app.create_app` builds it."""
