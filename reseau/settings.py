"""Réseau settings: one file, every deploy value from the environment.

Development defaults are safe to run locally (SQLite, DEBUG on, console e-mail);
production sets DJANGO_DEBUG=false, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL,
and then passes ``manage.py check --deploy``.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Development only: production refuses to start without a real key (see below).
    default="django-insecure-dev-only-key-not-for-production-use",
)
if not DEBUG and SECRET_KEY.startswith("django-insecure"):
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false.")

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
    "reseau.accounts",
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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must stay last: it inspects the response of the login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reseau.urls"
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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Page queries are short: starting parallel workers costs more than it saves on a 2-core server
    # (make bench: search p50 32 -> 25 ms, p95 65 -> 58 ms). Heavy admin/batch work can SET it back.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c max_parallel_workers_per_gather=0")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = (
    True  # transitional setting of Django 5.x: URLs typed without a scheme are https
)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
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

# Referrals and cases.
SITE_URL = env.str("DJANGO_SITE_URL", default="http://127.0.0.1:8000")
REFERRAL_EXPIRY_DAYS = env.int("REFERRAL_EXPIRY_DAYS", default=15)
REFERRAL_REMINDER_DAYS_BEFORE = env.int("REFERRAL_REMINDER_DAYS_BEFORE", default=3)
CASE_RETENTION_MONTHS = env.int("CASE_RETENTION_MONTHS", default=24)

# ReferralStatistic's unique constraint treats NULLs as equal: PostgreSQL enforces it; SQLite cannot, and
# cases_purge merges rows itself anyway.
# Service's coordinates index INCLUDEs columns on PostgreSQL (index-only bounding box); SQLite ignores
# INCLUDE, which only costs speed on the small embedded database.
SILENCED_SYSTEM_CHECKS = ["models.W047", "models.W040"]
