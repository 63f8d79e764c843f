"""The test suite's settings: the product's own with a fast password hasher, and, under
pytest-xdist, each worker process on a data folder and Redis databases of its own (the
tests clear the cache and run Celery workers, which must not reach another process's)."""

import os
import re
from pathlib import Path

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … under pytest-xdist
if _WORKER:
    os.environ["DATA_DIR"] = str(Path(os.environ.get("DATA_DIR", "data")) / _WORKER)

from config.settings import *  # noqa: E402, F403
from config.settings import CACHES, CELERY_BROKER_URL, CELERY_RESULT_BACKEND  # noqa: E402

# Django's own advice for tests: hashing with 1,000,000 PBKDF2 rounds took most of the
# suite's time. What is tested about passwords does not depend on the hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _worker_redis(url: str) -> str:
    """Worker gwN's Redis database: the configured one moved up by 2(N + 1), so the
    broker's (0) and the cache's (1) of one worker never meet another's."""
    found = re.fullmatch(r"(rediss?://[^/]+)/(\d+)", url)
    if not _WORKER or not found:
        return url
    database = int(found[2]) + 2 * (int(_WORKER.removeprefix("gw")) + 1)
    if database > 15:
        raise RuntimeError(f"{_WORKER}: Redis has no database {database}; run fewer workers")
    return f"{found[1]}/{database}"


if "LOCATION" in CACHES["default"]:
    CACHES["default"]["LOCATION"] = _worker_redis(CACHES["default"]["LOCATION"])
CELERY_BROKER_URL = _worker_redis(CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = _worker_redis(CELERY_RESULT_BACKEND)
# Celery reads these two from the environment before the settings; servers and commands
# the tests start run the product's own settings.
os.environ.update(
    {
        "CELERY_BROKER_URL": CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": CELERY_RESULT_BACKEND,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
)
