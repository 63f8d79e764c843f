"""The one settings module. Everything that differs between machines comes from the
environment; docs/operations.md lists every variable."""

import secrets
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_file_or_value,
    env_fraction,
    env_int,
    env_json,
    env_list,
    env_rate,
    env_str,
    env_url,
    url_check,
)
from devices import schedule as devices_schedule
from licensing import schedule as licensing_schedule
from phones import schedule as phones_schedule
from reports import schedule as reports_schedule
from ztp import schedule as ztp_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = (BASE_DIR / env_str("DATA_DIR", "data")).resolve()

DEBUG = env_bool("DEBUG", False)
# Django's technical 404 and 500 pages (DEBUG only) instead of the portal's own error pages.
TECHNICAL_ERROR_PAGES = env_bool("TECHNICAL_ERROR_PAGES", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: must be set when DEBUG is off")
    # Development: keep one generated key so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "provisioning",
    "phones",
    "gateway",
    "devices",
    "licensing",
    "reports",
    "ztp",
    # The project shell: the demo loader (it sits on top of every app).
    "config",
]

MIDDLEWARE = [
    # Outermost: the request ID, one JSON log line and the metrics of every request.
    "config.observability.RequestContextMiddleware",
    # /healthz, /readyz and allowed /metrics scrapes, before host checks and redirects.
    "config.health.ProbeMiddleware",
    # Refuses NUL in addresses, answers JSON on the API paths, 503 when the database
    # cannot be reached.
    "core.middleware.RequestGuardMiddleware",
    # Device endpoints are answered here, without the portal's middleware below.
    "core.middleware.DeviceFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Portal pages in the time zone of the user's customer (accounts.timezones).
    "accounts.timezones.CustomerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The portal's 403/404/405/500 pages, under DEBUG too (core.error_pages).
    "core.error_pages.PortalErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the outcome of the login views (django-axes' rule).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
try:
    # Health checks: a kept connection whose server went away (restart, failover) is
    # replaced before a request uses it, instead of failing that request.
    _database = dj_database_url.parse(
        _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
    )
except Exception as exc:  # dj-database-url raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL: cannot be parsed ({exc})") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The embedded default must take concurrent writes: WAL lets readers go on while one
    # writer writes; IMMEDIATE takes the write lock when a transaction begins (instead of
    # failing when a reader later wants to write); writers wait their turn for up to
    # `timeout` seconds instead of answering "database is locked".
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _database["ENGINE"] == "django.db.backends.postgresql":
    # Each process keeps a pool of at most DB_POOL_SIZE connections, so a burst of requests
    # waits for a connection instead of exceeding the server's max_connections; one that
    # waits longer than DB_POOL_TIMEOUT seconds answers 503 with Retry-After.
    _pool_size = env_int("DB_POOL_SIZE", 10)
    if _pool_size:
        if _database.get("CONN_MAX_AGE"):
            raise ImproperlyConfigured(
                "DB_CONN_MAX_AGE: the connection pool keeps connections already; set "
                "DB_POOL_SIZE=0 to use DB_CONN_MAX_AGE instead"
            )
        _database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": _pool_size,
            "timeout": env_int("DB_POOL_TIMEOUT", 10, minimum=1),
        }
    # The hot device statements are prepared, each once per connection
    # (core.rawsql.prepared_cursor asks for it); Django's own cursors bind parameters
    # client-side and prepare nothing whatever this says.
    _database.setdefault("OPTIONS", {})["prepare_threshold"] = 1
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PortalBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "reports:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Brute-force lockout for the portal login and the API login alike.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "core.client.client_ip"

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (served by whitenoise; never from a CDN) ----------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it to exist
# Finders let the app serve its assets without a collectstatic step on small installs.
WHITENOISE_USE_FINDERS = True

# --- Email (console by default) -------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "provisioning@localhost")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
# Eager mode is an explicit choice (tests, the embedded demo); a missing broker is an error.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULE = {
    **devices_schedule.SCHEDULE,
    **licensing_schedule.SCHEDULE,
    **phones_schedule.SCHEDULE,
    **reports_schedule.SCHEDULE,
    **ztp_schedule.SCHEDULE,
}

# Standard licenses go back to the pool after this many days without a check-in.
LICENSE_RELEASE_DAYS = env_int("LICENSE_RELEASE_DAYS", 30, minimum=1)

# Devices auto-provisioned into a PTT Pro site leave it after this many days without a
# check-in.
SITE_INACTIVITY_DAYS = env_int("SITE_INACTIVITY_DAYS", 30, minimum=1)

# History rows older than this many days are deleted nightly (reports.tasks); the
# dashboard's daily rollups are kept.
HISTORY_RETENTION_DAYS = env_int("HISTORY_RETENTION_DAYS", 400, minimum=1)

# --- Cache (rate limits; Redis in production so every worker shares the counts) -------
CACHE_URL = env_str("CACHE_URL", "locmem://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    _default_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        # An outage must cost a request milliseconds, not the OS's connect timeout.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
elif CACHE_URL == "locmem://":
    _default_cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL: expected redis://host:port/db or locmem://, got {CACHE_URL!r}"
    )
CACHES = {
    "default": _default_cache,
    # Rate limits count here, per process, while the default cache is unreachable.
    "ratelimit_fallback": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "ratelimit-fallback",
    },
}

# --- API ------------------------------------------------------------------------------
API_PAGE_SIZE_MAX = 500
REST_FRAMEWORK = {
    # A bearer token first (its 401 names the Bearer scheme), then the portal's session
    # (Swagger UI in a signed-in browser; CSRF checked on writes). Views whose credential
    # is in the body (login, refresh, logout, the device endpoints) set their own: none.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.PortalJWTAuthentication",
        "accounts.api.authentication.PortalSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Device endpoints: requests per client address and per token (a fleet shares one), and
# refused token presentations per address (a guesser is stopped long before a fleet).
DEVICE_RATE_PER_IP = env_rate("DEVICE_RATE_PER_IP", "300/min")
DEVICE_RATE_PER_TOKEN = env_rate("DEVICE_RATE_PER_TOKEN", "1200/min")
DEVICE_FAILURES_PER_IP = env_rate("DEVICE_FAILURES_PER_IP", "30/hour")
# Provisioning codes: 12 random digits are found only by trying, so wrong tries are
# budgeted (phones.guessing) to keep a guesser's daily odds of hitting any pending
# code at CODE_GUESS_ODDS_PER_DAY however many are pending, and at most CODE_FAILURES_MAX
# when few are; and redemptions of one customer's codes.
CODE_GUESS_ODDS_PER_DAY = env_fraction("CODE_GUESS_ODDS_PER_DAY", 4e-7)
CODE_FAILURES_MAX = env_rate("CODE_FAILURES_MAX", "1000/hour")
CODE_REDEMPTIONS_PER_CUSTOMER = env_rate("CODE_REDEMPTIONS_PER_CUSTOMER", "600/min")
# Automatic provisioning: wrong tokens presented for one domain, from any address (domains
# are public). Phones that get in are not counted.
AUTO_FAILURES_PER_DOMAIN = env_rate("AUTO_FAILURES_PER_DOMAIN", "60/hour")
# The address devices reach this server at (e.g. https://pm.example.com), for the device
# URL given to phones and registered with vendors; empty: the address of each request.
PUBLIC_URL = env_url("PUBLIC_URL")
# Trusted reverse proxies in front of the app; the client address is read behind them
# (core.client). 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored.
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("JWT_REFRESH_HOURS", 24, minimum=1)),
    # accounts.api.serializers.AdminRefreshSerializer rotates and blacklists in one
    # transaction (simplejwt's own refresh would let two requests rotate one token).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# However often a refresh token is rotated, a refresh this many days after the login that
# began the chain is refused: the script logs in again.
JWT_REFRESH_MAX_DAYS = env_int("JWT_REFRESH_MAX_DAYS", 7, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Provisioning Manager API",
    "DESCRIPTION": (
        "Manage bootstraps, tokens, devices and licenses. Log in with "
        "`POST /admin/api/v1/auth/admin` and send `authorization: Bearer <accessToken>`. "
        "In a browser signed in to the portal, the portal's session works too (writes "
        "send the CSRF token in `X-CSRFToken`; this page does)."
    ),
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/admin/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# --- External systems -----------------------------------------------------------------


def _ptt_servers() -> dict[str, dict[str, str]]:
    """PTT Pro servers by name: {"name": {"url": "https://…", "api_key": "…"}}.

    Messages name the server and the key but never quote a value: the keys are secrets."""
    servers = env_json("PTT_SERVERS", {})
    if not isinstance(servers, dict):
        raise ImproperlyConfigured(
            'PTT_SERVERS: expected a JSON object like {"name": {"url": …, "api_key": …}}'
        )
    for name, server in servers.items():
        if not name.strip():
            raise ImproperlyConfigured("PTT_SERVERS: a server name is blank")
        if not isinstance(server, dict):
            raise ImproperlyConfigured(
                f"PTT_SERVERS: {name!r} must be an object with url and api_key"
            )
        unknown = sorted(set(server) - {"url", "api_key"})
        if unknown:
            raise ImproperlyConfigured(f"PTT_SERVERS: {name!r} has unknown keys {unknown}")
        for key in ("url", "api_key"):
            if not isinstance(server.get(key), str) or not server[key].strip():
                raise ImproperlyConfigured(f"PTT_SERVERS: {name!r} needs a non-empty {key}")
        url_check(f"PTT_SERVERS: {name!r} url", server["url"])
    return servers


PTT_SERVERS = _ptt_servers()

# The entitlement (licensing) back end: "" (none), "http" (the vendor's API) or "file" (a CSV
# or JSON file kept by a self-hoster). See licensing/backend.py.
LICENSE_BACKEND = env_choice("LICENSE_BACKEND", "", ("", "http", "file"))
LICENSE_BACKEND_URL = env_str("LICENSE_BACKEND_URL").strip()
LICENSE_BACKEND_TOKEN = env_str("LICENSE_BACKEND_TOKEN")
LICENSE_BACKEND_FILE = env_str("LICENSE_BACKEND_FILE").strip()


def _license_backend_file() -> str:
    """Check the LICENSE_BACKEND_* combination; returns the file as an absolute path.

    Messages never quote the token (a secret) or the URL (it may carry a password)."""
    used_by = {
        "LICENSE_BACKEND_URL": ("http", LICENSE_BACKEND_URL),
        "LICENSE_BACKEND_TOKEN": ("http", LICENSE_BACKEND_TOKEN),
        "LICENSE_BACKEND_FILE": ("file", LICENSE_BACKEND_FILE),
    }
    for name, (backend, value) in used_by.items():
        if backend == LICENSE_BACKEND and not value:
            raise ImproperlyConfigured(f"{name}: required when LICENSE_BACKEND is {backend}")
        if backend != LICENSE_BACKEND and value:
            # Most likely a forgotten LICENSE_BACKEND: licenses would silently never sync.
            raise ImproperlyConfigured(
                f"{name}: only used when LICENSE_BACKEND is {backend}, "
                f"but LICENSE_BACKEND is {LICENSE_BACKEND or 'empty'}"
            )
    if LICENSE_BACKEND == "http":
        url_check("LICENSE_BACKEND_URL", LICENSE_BACKEND_URL)
        if not all("!" <= char <= "~" for char in LICENSE_BACKEND_TOKEN):
            raise ImproperlyConfigured(
                "LICENSE_BACKEND_TOKEN: must be printable ASCII without spaces"
            )
    if LICENSE_BACKEND == "file":
        path = BASE_DIR / LICENSE_BACKEND_FILE  # an absolute path stays as it is
        if path.suffix.lower() not in {".csv", ".json"}:
            raise ImproperlyConfigured(
                f"LICENSE_BACKEND_FILE: expected a .csv or .json file, got {str(path)!r}"
            )
        # Whether it exists is checked at each sync: it may be written after start-up.
        return str(path)
    return ""


LICENSE_BACKEND_FILE = _license_backend_file()

# --- Security (tightened whenever DEBUG is off) ---------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Desk phones' files carry SIP passwords and the URL is their credential: outside DEBUG
# they are answered over HTTPS only (a plain HTTP fetch is refused, not redirected).
PHONE_FILES_HTTPS_ONLY = env_bool("PHONE_FILES_HTTPS_ONLY", not DEBUG)
if not DEBUG:
    SECURE_REDIRECT_EXEMPT = [r"^phones/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Submitting a domain to the browsers' preload list is the operator's decision, so
    # preload stays opt-in and its reminder (W021) is not shown.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}"
    )
# JSON lines on standard output, each with the ID of its request (config.logs).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # django-axes reports every login at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
        # Through the JSON handler only (Django's default adds a plain-text one).
        "django": {"handlers": [], "level": LOG_LEVEL},
        # config.observability logs every request once; Django's own lines would repeat
        # each 4xx, and runserver's quote the query string, which may carry a token.
        "django.request": {"level": "ERROR"},
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # httpx logs every request line at INFO: vendor URLs carry access-key IDs and
        # the provisioning URL we register carries its token. Our clients log what
        # matters themselves.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Metrics (config.health, config.metrics) -------------------------------------------
# /metrics answers the client addresses in METRICS_ALLOW (networks, as core.client
# reads the address) and requests with `Authorization: Bearer <METRICS_TOKEN>`; everyone
# else gets 404.
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
if METRICS_TOKEN and (
    len(METRICS_TOKEN) < 16 or not all("!" <= char <= "~" for char in METRICS_TOKEN)
):
    raise ImproperlyConfigured(
        "METRICS_TOKEN: must be at least 16 characters of printable ASCII without spaces"
    )
METRICS_ALLOW = env_list("METRICS_ALLOW", ["127.0.0.1/32", "::1/128"])
for _network in METRICS_ALLOW:
    try:
        ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOW: expected addresses or networks like 10.0.0.0/8, got {_network!r}"
        ) from None

# --- Zero-touch provisioning (ztp) ----------------------------------------------------
# Vendors' redirection services (ztp/adapters.py): only their APIs' addresses. The API
# keys are each customer's own, entered on its ZTP card and kept encrypted in the database.
ZTP_VENDORS = {
    "snom": {
        "url": url_check(
            "ZTP_SNOM_API_URL",
            env_str("ZTP_SNOM_API_URL", "https://secure-provisioning.snom.com/api/v1").strip(),
        )
    },
    "gigaset": {
        "url": url_check(
            "ZTP_GIGASET_API_URL",
            env_str("ZTP_GIGASET_API_URL", "https://api.grape.gigaset.net/api/v1").strip(),
        )
    },
    "yealink": {
        "url": url_check(
            "ZTP_YEALINK_API_URL",
            env_str("ZTP_YEALINK_API_URL", "https://eu-api.ymcs.yealink.com").strip(),
        ),
        # OpenSSL's legacy renegotiation, only if YMCS's hosts ever need it again (two
        # clients once did; the hosts have since moved to TLS 1.3).
        "legacy_tls": env_bool("ZTP_YEALINK_LEGACY_TLS", False),
    },
}
# Seconds each phase of a vendor call (connect, send, each read) may take.
ZTP_TIMEOUT = env_int("ZTP_TIMEOUT", 10, minimum=1)


def _ztp_encryption_keys() -> list[str]:
    """Fernet keys for the customers' vendor credentials, newest (the one that encrypts)
    first, comma- or newline-separated. Development generates one into DATA_DIR; without
    keys in production, ZTP actions refuse with a message naming the variable."""
    import base64
    import binascii

    raw, _source = env_file_or_value("ZTP_ENCRYPTION_KEYS")
    if not raw and DEBUG:
        key_file = DATA_DIR / "ztp_encryption_key"
        if not key_file.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            key_file.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
            key_file.chmod(0o600)
        raw = key_file.read_text()
    keys = [key.strip() for key in raw.replace(",", "\n").splitlines() if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                f"ZTP_ENCRYPTION_KEYS: key {position} is not a Fernet key (44 characters of "
                "url-safe base64 encoding 32 bytes; `manage.py ztp newkey` makes one)"
            )
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured("ZTP_ENCRYPTION_KEYS: a key is listed twice")
    return keys


ZTP_ENCRYPTION_KEYS = _ztp_encryption_keys()
