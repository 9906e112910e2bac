"""ValueLab settings, read from the environment (see README: Settings).

With nothing set, ValueLab needs no service: SQLite, a filesystem Celery broker and the embedded
local LLM. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VALUELAB_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = "django-insecure-valuelab-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
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
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "core",
    "elicitation",
    "annotation",
    "moralgraph",
    "training",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out sign-in into the 429 page
]

ROOT_URLCONF = "valuelab.urls"
WSGI_APPLICATION = "valuelab.wsgi.application"
ASGI_APPLICATION = "valuelab.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, and wait for it, instead of failing with
    # "database is locked" halfway through; WAL lets readers run beside the one writer. Each
    # server thread keeps its connection (CONN_MAX_AGE) like on PostgreSQL: opening one and
    # running the pragmas cost ~1.5 ms a request.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# The most PostgreSQL connections one ASGI web worker's pool opens. A pooled connection is held
# only while a request, or a turn's database step, runs: the gateway gives it back while the LLM
# answers, and at most VALUELAB_REQUESTS_PER_WORKER requests are inside Django at once until their
# response starts (valuelab/asgi.py). So the pool need not cover every turn in flight; a request
# that finds it empty waits (DATABASE_POOL_TIMEOUT) rather than fails. Keep web workers x this
# + Celery below PostgreSQL's max_connections (check --deploy warns, core/checks.py).
DATABASE_POOL_SIZE = int(
    os.environ.get("DATABASE_POOL_SIZE", os.environ.get("VALUELAB_REQUESTS_PER_WORKER", "16"))
)
# For that warning: gunicorn's --workers (it reads WEB_CONCURRENCY too) and the server's limit.
VALUELAB_WEB_WORKERS = int(os.environ.get("WEB_CONCURRENCY", "3"))
DATABASE_MAX_CONNECTIONS = int(os.environ.get("DATABASE_MAX_CONNECTIONS", "100"))
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("VALUELAB_SERVER") == "asgi"
    and env_bool("DATABASE_POOL", True)
):
    # A pool of PostgreSQL connections per ASGI web worker (psycopg_pool): each request thread
    # borrows one and gives it back when done, instead of opening and closing one per request
    # (CONN_MAX_AGE=0 there) or per LLM call. Only the web server (valuelab/asgi.py sets
    # VALUELAB_SERVER): Celery's threads keep their persistent connections, which a pool would
    # turn into a reconnection per LLM call.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool replaces persistent connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": DATABASE_POOL_SIZE,
        # How long a request waits for a free connection before failing.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "30")),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# --- Security (check --deploy is clean with DEBUG=0) -----------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): every script and style comes from our own static files.
# No inline script, no inline style attribute, no eval: an injected <script> or on*= handler
# does not run even if escaping ever failed. Pages pass data to scripts with json_script
# (type application/json, never executed) and style through classes. htmx's own indicator
# <style> is switched off (htmx-config meta in base.html; the rule lives in valuelab.css).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Rate limits (core.throttling) ---------------------------------------------------------------

# Each rate counts per signed-in user, else per client IP ("N/second|minute|hour|day"; an empty
# value turns that limit off). VALUELAB_PROXIES: how many proxies in front add X-Forwarded-For.
VALUELAB_PROXIES = int(os.environ.get("VALUELAB_PROXIES", "0"))
VALUELAB_THROTTLE_RATES = {
    scope: os.environ.get(f"VALUELAB_THROTTLE_{scope.upper()}", default) or None
    for scope, default in {
        "api": "600/minute",  # every API request
        "api_write": "120/minute",  # API requests that change something
        "llm": "20/minute",  # interview turns, card writing, the LLM check
        "join": "60/hour",  # /join/ links opened from one IP
        "token_failure": "20/hour",  # wrong API tokens from one IP
    }.items()
}
_throttle_cache = os.environ.get("VALUELAB_THROTTLE_CACHE_URL") or (
    os.environ.get("CELERY_BROKER_URL", "")
    if os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://"))
    else ""
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared by every server process when Redis is there (the broker's, unless set apart).
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _throttle_cache,
        "KEY_PREFIX": "valuelab-throttle",
    }
    if _throttle_cache
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
}

# Sign-in lockout (django-axes): after VALUELAB_LOGIN_FAILURE_LIMIT wrong passwords for one
# username, or from one IP, sign-in is refused for VALUELAB_LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "core.throttling.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("VALUELAB_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("VALUELAB_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.throttling.login_lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.throttling.client_ip"
AXES_VERBOSE = False

# Uploads (imports, targets): larger requests are refused with 413 before the body is read.
# An API import larger than VALUELAB_IMPORT_INLINE_MB runs as a job (202), like the page's.
VALUELAB_MAX_UPLOAD_MB = float(os.environ.get("VALUELAB_MAX_UPLOAD_MB", "100"))
VALUELAB_IMPORT_INLINE_MB = float(os.environ.get("VALUELAB_IMPORT_INLINE_MB", "5"))

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.ValueLabAutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.ApiThrottle",
        "core.throttling.ApiWriteThrottle",
        "core.throttling.LLMThrottle",
    ],
    "NUM_PROXIES": int(os.environ.get("VALUELAB_PROXIES", "0")) or None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ValueLab API",
    "DESCRIPTION": "Values cards, moral graphs, value annotations and the models trained on them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models have a "kind" field with its own choices: name each set.
    "ENUM_NAME_OVERRIDES": {"SubjectKindEnum": "evaluation.models.Subject.Kind"},
}

# --- Celery -----------------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: producer and worker share one folder, no server needed.
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # else kombu writes ./control
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # How long Redis holds a message a worker took but never acknowledged (its worker died
    # before claiming the job) before delivering it again. Longer than any retry delay (at most
    # 600 s); a message of a job that outlives it is delivered again but not run twice (the job
    # row is claimed). A running job whose worker died is recovered by the sweeper, not by this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800"))
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("VALUELAB_CELERY_QUEUE", "valuelab")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # state and progress live in core.Job
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent; a lost worker's task is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Jobs (core.jobs): a worker beats a running job's heartbeat every JOB_HEARTBEAT_SECONDS; a job
# silent for JOB_STALE_SECONDS lost its worker, and the sweeper (every JOB_SWEEP_SECONDS) queues
# it again or fails it. A job may lose JOB_MAX_REQUEUES workers before it is failed.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("VALUELAB_JOB_HEARTBEAT_SECONDS", "10"))
JOB_STALE_SECONDS = float(os.environ.get("VALUELAB_JOB_STALE_SECONDS", "45"))
JOB_SWEEP_SECONDS = float(os.environ.get("VALUELAB_JOB_SWEEP_SECONDS", "15"))
JOB_MAX_REQUEUES = int(os.environ.get("VALUELAB_JOB_MAX_REQUEUES", "3"))
# Periodic work, run by `celery beat` (`make run` embeds it in the short-jobs worker). Each task
# starts an idempotent job per deliberation and skips one whose run is still going.
CELERY_BEAT_SCHEDULE = {
    "core-sweep-jobs": {"task": "core.sweep_jobs", "schedule": float(JOB_SWEEP_SECONDS)},
    "elicitation-dedup": {"task": "elicitation.dedup_scheduled", "schedule": 600.0},
    "elicitation-grade": {"task": "elicitation.grade_scheduled", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE

# --- LLM gateway (core.llm) -------------------------------------------------------------------

OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
VALUELAB_LLM_MODEL = os.environ.get("VALUELAB_LLM_MODEL", "")
VALUELAB_LLM_EMBEDDING_MODEL = os.environ.get("VALUELAB_LLM_EMBEDDING_MODEL", "")
# A second endpoint for embeddings (vLLM serves one model per server); unset: OPENAI_BASE_URL.
VALUELAB_LLM_EMBEDDING_BASE_URL = os.environ.get("VALUELAB_LLM_EMBEDDING_BASE_URL", "")
VALUELAB_LLM_BUDGET = int(os.environ.get("VALUELAB_LLM_BUDGET", "200"))
VALUELAB_LLM_TIMEOUT = float(os.environ.get("VALUELAB_LLM_TIMEOUT", "60"))
VALUELAB_LLM_MAX_RETRIES = int(os.environ.get("VALUELAB_LLM_MAX_RETRIES", "3"))
VALUELAB_LLM_STRUCTURED_ATTEMPTS = int(os.environ.get("VALUELAB_LLM_STRUCTURED_ATTEMPTS", "3"))
# Requests in flight to one endpoint from this machine (web and worker processes together).
VALUELAB_LLM_CONCURRENCY = int(os.environ.get("VALUELAB_LLM_CONCURRENCY", "8"))
# Under ASGI: interview turns (streamed or through the API, and cards written now) running at
# once in one web worker process (each a thread; its database connection is given back while the
# LLM answers); more wait on the event loop, holding neither. Unset: 32
# (elicitation.streaming.DEFAULT_TURNS_PER_WORKER).
if "VALUELAB_TURNS_PER_WORKER" in os.environ:
    VALUELAB_TURNS_PER_WORKER = int(os.environ["VALUELAB_TURNS_PER_WORKER"])
# Under ASGI: requests one web worker serves at once until their response starts (each may hold
# a database connection); more wait on the event loop (valuelab/asgi.py).
VALUELAB_REQUESTS_PER_WORKER = int(os.environ.get("VALUELAB_REQUESTS_PER_WORKER", "16"))
# How long a request may wait for one of those slots (not counted in VALUELAB_LLM_TIMEOUT).
VALUELAB_LLM_QUEUE_TIMEOUT = float(os.environ.get("VALUELAB_LLM_QUEUE_TIMEOUT", "300"))
# The endpoint's context window in tokens, until a "context exceeded" refusal teaches a smaller one.
VALUELAB_LLM_CONTEXT_TOKENS = int(os.environ.get("VALUELAB_LLM_CONTEXT_TOKENS", "4096"))
# A pre-label job's own bound on requests in flight (unset: VALUELAB_LLM_CONCURRENCY).
ANNOTATION_PRELABEL_CONCURRENCY = (
    int(os.environ["ANNOTATION_PRELABEL_CONCURRENCY"])
    if os.environ.get("ANNOTATION_PRELABEL_CONCURRENCY")
    else None
)
# How long what an endpoint was found to support (structured mode, embedding shape) is remembered.
VALUELAB_LLM_CAPABILITY_TTL = int(os.environ.get("VALUELAB_LLM_CAPABILITY_TTL", "86400"))
VALUELAB_MODEL_CACHE = Path(os.environ.get("VALUELAB_MODEL_CACHE", VAR_DIR / "models"))

# --- Studies ----------------------------------------------------------------------------------

PROLIFIC_COMPLETION_URL = os.environ.get(
    "PROLIFIC_COMPLETION_URL", "https://app.prolific.com/submissions/complete?cc={code}"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
