"""MesoClinic settings: one file, driven by the environment.

With no environment at all the app runs embedded: SQLite in the project folder and a
Celery broker kept in files under var/, so `make run` needs no server. Production sets
DJANGO_DEBUG=0 and must then name its secret key and hosts, or start-up stops.
The variables are documented in README.md ("Configuration").
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MESOCLINIC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {value!r}")


def envint(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envlist(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Two modes. Production is declared, never guessed: DJANGO_DEBUG=0 switches on every strict
# check (secret key and hosts required, HTTPS-only cookies, HSTS, the static manifest). Anything
# else is development: the embedded defaults, a generated key, local hosts. Django's debug pages
# are a switch inside development, on only when asked for (DJANGO_DEBUG=1, which `make run`
# sets), as the configuration contract says: "on for run, off otherwise".
PRODUCTION = envbool("DJANGO_DEBUG", None) is False
DEBUG = envbool("DJANGO_DEBUG", False)


def _development_secret_key():
    # Kept on disk so sessions survive a restart of `make run`; never used in production.
    path = VAR_DIR / "development-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", [])
if PRODUCTION:
    missing = [
        name
        for name, value in (("DJANGO_SECRET_KEY", SECRET_KEY), ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS))
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG=0 (production) needs " + " and ".join(missing) + "; see README.md, Configuration."
        )
else:
    SECRET_KEY = SECRET_KEY or _development_secret_key()
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "auditlog",
    "csp",
    "mesoclinic.core",
    "mesoclinic.patients",
    "mesoclinic.screening",
    "mesoclinic.plans",
    "mesoclinic.treatment_sessions",
    "mesoclinic.aftercare",
    "mesoclinic.questionnaires",
    "mesoclinic.outcomes",
    "mesoclinic.desk",
]

MIDDLEWARE = [
    "mesoclinic.core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed-in pages and secret-link pages hold patient data: no browser or proxy keeps them.
    "mesoclinic.core.middleware.NoStoreMiddleware",
    "mesoclinic.core.middleware.IdleTimeoutMiddleware",
    "mesoclinic.core.timezones.ClinicTimezoneMiddleware",
    "mesoclinic.core.middleware.LanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # auditlog's middleware, with the client address from MESOCLINIC_PROXY_COUNT (core.audit.client_ip).
    "mesoclinic.core.middleware.AuditContextMiddleware",
    # Last, as django-axes asks: it turns a lockout signalled by the backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mesoclinic.urls"
WSGI_APPLICATION = "mesoclinic.wsgi.application"
ASGI_APPLICATION = "mesoclinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mesoclinic.core.context_processors.clinic",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        # An empty DATABASE_URL (a blanked variable) means the embedded default too.
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
        # Behind a pooler in transaction mode (PgBouncer, README "Growth beyond one machine") a
        # connection's server changes between transactions, so a cursor that outlives its
        # transaction (a server-side cursor, for .iterator()) would be lost: turn them off.
        disable_server_side_cursors=envbool("DATABASE_TRANSACTION_POOLING", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the Celery worker writes; IMMEDIATE takes the
    # write lock when a transaction begins, so check-then-insert (bookings) is atomic.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so a Celery worker started by a test can open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, passwords, sessions, lockout ----------------------------------------------
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AXES_FAILURE_LIMIT = envint("MESOCLINIC_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("MESOCLINIC_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Trusted proxies in front of the app (0: clients connect directly). The client address in the
# audit trail and for lockouts comes from this, never from a client-sent X-Forwarded-For.
MESOCLINIC_PROXY_COUNT = envint("MESOCLINIC_PROXY_COUNT", 0)
if MESOCLINIC_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"MESOCLINIC_PROXY_COUNT must be 0 or more, not {MESOCLINIC_PROXY_COUNT}")
AXES_CLIENT_IP_CALLABLE = "mesoclinic.core.audit.client_ip"

# Staff and patients are signed out after this much inactivity (HIPAA-style automatic logoff).
IDLE_TIMEOUT_MINUTES = envint("MESOCLINIC_IDLE_TIMEOUT_MINUTES", 15)
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "mesoclinic.core.views.csrf_failure"

# --- HTTPS and headers: on in production, where a proxy terminates TLS ---------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Nothing is loaded from another origin: patient pages must not leak requests.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Language and time ----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
LOCALE_PATHS = [BASE_DIR / "mesoclinic" / "locale"]
TIME_ZONE = "UTC"  # storage and logs; each clinic shows its own zone (core.Clinic.timezone)
USE_I18N = True
USE_TZ = True

# --- Static files and uploads ---------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/noto-sans", NODE_MODULES / "@fontsource" / "noto-sans" / "files"),
    ("vendor/signature_pad", NODE_MODULES / "signature_pad" / "dist"),
    # The DataMatrix reader for scanning a pack's lot (its browser bundle includes @zxing/library).
    ("vendor/zxing", NODE_MODULES / "@zxing" / "browser" / "umd"),
    # The before/after slider of the photo compare (a web component; its styles are a
    # constructed stylesheet, which the strict CSP allows).
    ("vendor/img-comparison-slider", NODE_MODULES / "img-comparison-slider" / "dist"),
]
STORAGES = {
    # Uploads (session photos) live outside the static folders and are served by a view
    # that checks the viewer's role and the patient's photo consent.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("MESOCLINIC_MEDIA_ROOT", str(VAR_DIR / "media"))},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MESOCLINIC_PHOTO_MAX_BYTES = envint("MESOCLINIC_PHOTO_MAX_MB", 12) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("MESOCLINIC_EMAIL_DIR", str(VAR_DIR / "outbox"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "MesoClinic <no-reply@mesoclinic.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The base of links in emails (aftercare sheets); requests carry their own host.
MESOCLINIC_BASE_URL = os.environ.get("MESOCLINIC_BASE_URL", "http://127.0.0.1:8000")

# --- Text messages (SMS) ----------------------------------------------------------------
# Like EMAIL_BACKEND (mesoclinic/core/sms.py): files under var/sms/ in development; in
# production the HTTP gateway when MESOCLINIC_SMS_URL is set, else none (an SMS is "Not sent").
SMS_GATEWAY_URL = os.environ.get("MESOCLINIC_SMS_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("MESOCLINIC_SMS_TOKEN", "")
SMS_SENDER = os.environ.get("MESOCLINIC_SMS_SENDER", "MesoClinic")
SMS_TIMEOUT = envint("MESOCLINIC_SMS_TIMEOUT", 10)
SMS_FILE_PATH = os.environ.get("MESOCLINIC_SMS_DIR", str(VAR_DIR / "sms"))
SMS_BACKEND = os.environ.get("MESOCLINIC_SMS_BACKEND") or (
    ("http" if SMS_GATEWAY_URL else "disabled") if PRODUCTION else "file"
)

# --- Celery ---------------------------------------------------------------------------
# Embedded default: the "filesystem" transport keeps messages as files under var/celery,
# so a worker started by `make run` runs tasks with no broker server at all.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        # Where the transport keeps its exchange tables; kombu's default is ./control, which
        # lands in whatever folder the worker was started from (and once in the repository).
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # Unacknowledged messages return to the queue after this long if a worker vanishes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "mesoclinic")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TIMEZONE = "UTC"
# beat keeps its schedule (last run times) here, whatever the broker; the folder must exist, or
# `celery beat` exits on a fresh clone (it was once made only for the file broker).
(VAR_DIR / "celery").mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-reminders": {"task": "reminders.sweep", "schedule": 60.0},
    "sweep-aftercare-sheets": {"task": "aftercare.sweep_missing_sheets", "schedule": 300.0},
    "purge-expired-sessions": {"task": "core.purge_expired_sessions", "schedule": 6 * 60 * 60},
    # Next year's audit partition, long before it is needed (core/audit_partitions.py); idempotent.
    # The clinic outcomes page's figures, counted ahead for a large clinic (outcomes/tasks.py).
    "count-clinic-outcomes": {"task": "outcomes.count_clinic_outcomes", "schedule": 60 * 60},
    "ensure-audit-partitions": {"task": "core.ensure_audit_partitions", "schedule": 24 * 60 * 60},
}

# The clinical knowledge base, drawn from the source documents (load_knowledge loads it).
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# --- Forms, logging, audit ------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
# Django draws every form widget from a template; its own engine made that a third of the
# screening form's time. Django's Jinja2 copies of the same widget templates are much faster;
# the admin's and auth's widgets have no Jinja2 copy and come from Django's engine instead.
FORM_RENDERER = "mesoclinic.core.renderers.Jinja2WithDjangoFallback"
CRISPY_TEMPLATE_PACK = "bootstrap5"

AUDITLOG_LOGENTRY_MODEL = "core.AuditEntry"
# auditlog's migrations create its own entry table even when the model is swapped for
# ours; an unused table with a foreign key to content types would only get in the way.
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_STORE_JSON_CHANGES = True
# auditlog's own address capture trusts X-Forwarded-For as sent; core.middleware.AuditContextMiddleware
# supplies the address instead.
AUDITLOG_DISABLE_REMOTE_ADDR = True

# `make bench` measures pages against a bare view (`/bench/bare`) that exists only when asked for.
BENCHMARK_VIEWS = envbool("MESOCLINIC_BENCHMARK_VIEWS", False)

# How long a screening stays current (it also lapses when the patient's answers change).
SCREENING_VALID_DAYS = envint("MESOCLINIC_SCREENING_VALID_DAYS", 30)

# Phone numbers typed without a country code (0532 123 45 67) are read as the clinic's country:
# by default the country of its time zone (Europe/Istanbul: TR), or this ISO code. A number that
# is none there is tried in the other regions (a Turkish clinic's British patients: 07700 900123).
MESOCLINIC_PHONE_REGION = os.environ.get("MESOCLINIC_PHONE_REGION", "").strip().upper()
MESOCLINIC_PHONE_OTHER_REGIONS = envlist("MESOCLINIC_PHONE_OTHER_REGIONS", ["GB"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # The file broker has no host name, and kombu warns about it at every connection.
        "kombu.connection": {"level": "ERROR" if CELERY_BROKER_URL.startswith("filesystem://") else "WARNING"},
    },
}
