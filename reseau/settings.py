"""Réseau settings: one file, every deploy value from the environment.

Production fails closed: DEBUG is off unless ``DJANGO_DEBUG`` turns it on, and without DEBUG the
app refuses to start unless ``DJANGO_SECRET_KEY`` (a real key) and ``DJANGO_SITE_URL`` are set;
production also sets ``DJANGO_ALLOWED_HOSTS`` and ``DATABASE_URL``, and then passes
``manage.py check --deploy``. Development turns DEBUG on (the Makefile's targets and the test suite
set ``DJANGO_DEBUG=true``) and gets safe local defaults: SQLite, a dev key, console e-mail.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-dev-only-key-not-for-production-use"
elif not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false "
        "(a random string of at least 50 characters)."
    )
elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    # The same bar as Django's check --deploy (security.W009), enforced at start-up.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak for production: use a random string of at least 50 characters, "
        "with at least 5 different characters, not starting with 'django-insecure'."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "axes",
    "csp",
    "rules.apps.AutodiscoverRulesConfig",
    "simple_history",
    "import_export",
    "django_tasks",
    "django_tasks_db",
    "reseau.accounts",
    "reseau.mail",
    "reseau.links",
    "partners",
    "referrals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires a login, except views marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The empty 405 of require_POST / require_http_methods becomes the French 405 page.
    "reseau.middleware.MethodNotAllowedPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must stay last: it inspects the response of the login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reseau.urls"
# Error pages are French, in the site's layout: templates/400.html … 500.html (Django's handlers),
# 405 from the middleware above, and CSRF failures here.
CSRF_FAILURE_VIEW = "reseau.views.csrf_failure"
WSGI_APPLICATION = "reseau.wsgi.application"

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
                "reseau.context_processors.csp_nonce",
                "reseau.context_processors.navigation",
            ],
        },
    },
]

SQLITE_INIT_COMMAND = (
    "PRAGMA journal_mode=WAL; PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY"
)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Transactions take SQLite's write lock when they start: a second writer waits for the first one
    # (up to the busy timeout) instead of failing with "database is locked" in the middle of its work.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # Read speed, on every new connection (issue 14: search at 150 000 services). SQLite's defaults
    # are for small devices: a 2 MB page cache, re-read from the OS on every query of a 300 MB
    # directory. Memory-mapped reads (256 MB) skip a copy per page, 64 MB of cache per connection
    # keeps the indexes warm, and sorts (ORDER BY of the matches) stay in memory. WAL: readers do not
    # wait for a writer (an import, the task worker), and the writer does not wait for them.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", SQLITE_INIT_COMMAND)
    # Persistent connections, as on PostgreSQL: the pragmas and the warm cache last across requests.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Page queries are short: starting parallel workers costs more than it saves on a 2-core server
    # (make bench: search p50 32 -> 25 ms, p95 65 -> 58 ms). Heavy admin/batch work can SET it back.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c max_parallel_workers_per_gather=0")
    # Persistent connections: opening one cost ~3 ms of every request (make bench, fixed cost of a page).
    # Checked before reuse, so a server restart costs one failed check, not an error page.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = (
    True  # transitional setting of Django 5.x: URLs typed without a scheme are https
)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "reseau.accounts.backends.UserBackend",  # ModelBackend, the user loaded with their service
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection: lock a (username, IP) pair after 5 failures for one hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "reseau.accounts.axes.get_login_email"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# The client address the lock counts (django-axes asks django-ipware). Default: the TCP peer, right for a
# direct connection. Behind a reverse proxy every request comes from the proxy's address, so one attacker
# would lock every account for everyone: set DJANGO_AXES_IP_HEADER to the META key of the header the proxy
# writes (e.g. HTTP_X_FORWARDED_FOR) and DJANGO_AXES_PROXY_COUNT to the number of trusted addresses that
# follow the client's in that header as it reaches Django (0 when one proxy appends the peer address).
# The right-most entries are the trusted ones: what a client writes itself in the header is ignored.
# Only when Django cannot be reached but through that proxy (README, "Security by default").
AXES_IP_HEADER = env.str("DJANGO_AXES_IP_HEADER", default="")
if AXES_IP_HEADER:
    AXES_IPWARE_META_PRECEDENCE_ORDER = [AXES_IP_HEADER, "REMOTE_ADDR"]
    AXES_IPWARE_PROXY_COUNT = env.int("DJANGO_AXES_PROXY_COUNT", default=0)
    AXES_IPWARE_PROXY_ORDER = "left-most"
    # Not strict: a header longer than expected (the client sent its own) still yields the trusted entry.
    IPWARE_STRICT = False

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Background work (e-mails) goes through Django 6's tasks API (django-tasks backport). The database backend
# queues tasks in the main database (SQLite or PostgreSQL; `manage.py db_worker` runs them, `make run`
# starts one); DJANGO_TASKS_IMMEDIATE=true runs them inline, as the tests and CI do.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if env.bool("DJANGO_TASKS_IMMEDIATE", default=False)
        else "django_tasks_db.DatabaseBackend",
    }
}

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Réseau <noreply@reseau.localhost>")

# Strict Content-Security-Policy: no inline script or style anywhere; scripts need a nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Django's database sessions, read with one plain statement on every page (reseau/accounts/sessions.py).
SESSION_ENGINE = "reseau.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10  # a working day
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# A service not verified for this many months is shown as stale.
STALE_AFTER_MONTHS = 12

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Personal links e-mailed to services without an account (reseau.links): validity, and requests per
# client address and hour on the pages they open.
ACCESS_LINK_VALID_DAYS = env.int("ACCESS_LINK_VALID_DAYS", default=7)
LINK_RATE_LIMIT_PER_HOUR = env.int("LINK_RATE_LIMIT_PER_HOUR", default=60)

# Referrals and cases.
# The public address of the site, written into e-mail links (answer links): required in production.
SITE_URL = env.str("DJANGO_SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")
if not DEBUG and not SITE_URL:
    raise ImproperlyConfigured(
        "DJANGO_SITE_URL must be set when DJANGO_DEBUG is false: the public address of the site used "
        "in e-mail links, e.g. https://reseau.example.org"
    )
if urlsplit(SITE_URL).scheme not in {"http", "https"} or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(
        f"DJANGO_SITE_URL must be an absolute http(s) address, e.g. https://reseau.example.org (got {SITE_URL!r})."
    )
# Aligned on the peers (DORA, les-emplois): a reminder to the receiver after 10 days without an answer,
# expiry after 30 days, or 60 once the receiver has put the referral under review.
REFERRAL_REMINDER_AFTER_DAYS = env.int("REFERRAL_REMINDER_AFTER_DAYS", default=10)
REFERRAL_EXPIRY_DAYS = env.int("REFERRAL_EXPIRY_DAYS", default=30)
REFERRAL_REVIEW_EXPIRY_DAYS = env.int("REFERRAL_REVIEW_EXPIRY_DAYS", default=60)
CASE_RETENTION_MONTHS = env.int("CASE_RETENTION_MONTHS", default=24)

# ReferralStatistic's unique constraint treats NULLs as equal: PostgreSQL enforces it; SQLite cannot, and
# cases_purge merges rows itself anyway.
# Service's coordinates index INCLUDEs columns on PostgreSQL (index-only bounding box); SQLite ignores
# INCLUDE, which only costs speed on the small embedded database.
SILENCED_SYSTEM_CHECKS = ["models.W047", "models.W040"]
