"""REST routes of this app, mounted under /api/<app>/ (each view names its roles)."""

urlpatterns: list = []
