"""Configuration classes; every secret comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-only-not-secret-change-me-0000000000"
SECRET_FILE = BASE_DIR / "instance" / "secret_key"


def _secret_key() -> str:
    """The key from SECRET_KEY, else from instance/secret_key (made by `make`)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    if SECRET_FILE.exists():
        return SECRET_FILE.read_text().strip()
    return DEFAULT_SECRET


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'instance' / 'app.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Static files (scripts, styles, fonts, charts) are kept by browsers for an hour instead of
    # being asked for again on every page (each page load revalidated a dozen of them); after an
    # upgrade a browser may use its old copy for up to that hour.
    SEND_FILE_MAX_AGE_DEFAULT = 3600
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    APP_NAME = "督考一体 干部监督考评平台"
    APP_ICON = ""
    APP_THEME = ""
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}}
    FAB_CREATE_DB = False
    # Password hashes: scrypt (FAB's default), used by FAB's views and app/org/users.py alike.
    FAB_PASSWORD_HASH_METHOD = "scrypt"
    FAB_UPDATE_PERMS = False
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.SecurityManager"
    FAB_ADD_SECURITY_API = False
    FAB_API_SWAGGER_UI = True
    FAB_INDEX_VIEW = "app.web.home.HomeView"
    FAB_BASE_TEMPLATE = "app_base.html"
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "系统管理员"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    # Login attempts (web form and API together) per client address, counted in the database
    # so that every worker and node sees one count (app/security/throttle.py).
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 60 second")
    # Wrong codes at the public ballot (/vote) per client address, counted in the database.
    VOTE_RATE_LIMIT = os.environ.get("VOTE_RATE_LIMIT", "20 per 300 second")
    # Flask-Limiter (FAB's limiter) counts per process with `memory://`: left off.
    RATELIMIT_ENABLED = False
    # Behind nginx set TRUSTED_PROXIES=1: the client address (rate limit, audit) is then read
    # from X-Forwarded-For; otherwise every user would share the proxy's address.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = "app.security.manager.password_complexity"

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(hours=1)
    FAB_API_MAX_PAGE_SIZE = 200
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 200_000
    # Background jobs (app/services/jobs.py, `flask jobs worker`): an export of more rows than
    # this is made by a job; a worker beats every JOB_HEARTBEAT_SECONDS, and a running job
    # without a beat for JOB_STALE_SECONDS is taken to have lost its worker and queued again.
    EXPORT_SYNC_MAX_ROWS = int(os.environ.get("EXPORT_SYNC_MAX_ROWS", "5000"))
    JOB_POLL_SECONDS = float(os.environ.get("JOB_POLL_SECONDS", "1"))
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "2"))
    JOB_STALE_SECONDS = float(os.environ.get("JOB_STALE_SECONDS", "60"))
    JOB_KEEP_DAYS = int(os.environ.get("JOB_KEEP_DAYS", "30"))
    # An idle worker's housekeeping (app/jobs/kinds.IDLE_TASKS) runs at most this often.
    JOB_IDLE_SECONDS = float(os.environ.get("JOB_IDLE_SECONDS", "60"))
    JOB_MAX_PENDING_PER_USER = int(os.environ.get("JOB_MAX_PENDING_PER_USER", "10"))
    UPLOAD_FOLDER = str(BASE_DIR / "instance" / "uploads")
    # A PostgreSQL streaming replica for the report screens (app/core/replica.py): unset, every
    # read goes to DATABASE_URL. A user reads the primary for READ_AFTER_WRITE_SECONDS after
    # writing; a replica that lags more than READ_MAX_LAG_SECONDS (probed at most every
    # READ_PROBE_SECONDS per process) or cannot be reached is left for the primary.
    READ_DATABASE_URL = os.environ.get("READ_DATABASE_URL") or None
    READ_AFTER_WRITE_SECONDS = float(os.environ.get("READ_AFTER_WRITE_SECONDS", "5"))
    READ_MAX_LAG_SECONDS = float(os.environ.get("READ_MAX_LAG_SECONDS", "10"))
    READ_PROBE_SECONDS = float(os.environ.get("READ_PROBE_SECONDS", "1"))


class ProductionConfig(Config):
    """Refuses to start on the development key."""

    def __init__(self) -> None:
        if self.SECRET_KEY == DEFAULT_SECRET or len(self.SECRET_KEY) < 32:
            raise RuntimeError("SECRET_KEY 未设置或过短：生产环境必须通过环境变量提供至少 32 字节的密钥")


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
    SQLALCHEMY_DATABASE_URI = (
        os.environ.get("TEST_DATABASE_URL", "").replace("postgresql://", "postgresql+psycopg://", 1)
        or "sqlite:///" + str(BASE_DIR / "instance" / "test.db")
    )
    WTF_CSRF_ENABLED = False
    # A cheap hash for the suite's hundreds of logins (scrypt costs ~0.3 s of CPU a login);
    # tests/test_foundation.py checks that the other configurations hash with scrypt.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    RATELIMIT_ENABLED = False
    AUTH_RATE_LIMITED = False
    READ_DATABASE_URL = None  # tests/test_replica.py sets one on a replica of its own
