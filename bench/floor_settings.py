"""The product's settings, with bench/floor_app.py's URLs (the product's, plus a bare
view) for `make bench` and bench/redemption_floor.py."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_app"
