"""The demo page at /demo: X-like and Facebook-like sample posts to try the whole flow on."""
from server.demo.routes import init_app

__all__ = ["init_app"]
