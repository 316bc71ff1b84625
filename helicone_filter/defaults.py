"""The defaults and limits that more than one part of the package uses, said once.

Plain values only, with no imports from the package, so that the command line can read them
without loading the service, the client or pydantic.
"""

from __future__ import annotations

PROG = "helicone-filter"

# -- Helicone's API -----------------------------------------------------------------------------
HELICONE_BASE_URL = "https://api.helicone.ai"
HELICONE_EU_BASE_URL = "https://eu.api.helicone.ai"
API_KEY_ENV = "HELICONE_API_KEY"  # the environment variable the command line reads the key from
CLIENT_TIMEOUT_SECONDS = 30.0
MAX_WAIT_SECONDS = 86_400.0  # a day: the longest timeout or wait anything accepts

# -- The request body of the user-metrics query ---------------------------------------------
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # Helicone's controller answers 400 above it ("Limit cannot be greater than 1000")
MAX_OFFSET = 2**53 - 1  # Helicone writes the offset into its SQL as a JavaScript number
MAX_TZ_OFFSET_MINUTES = 24 * 60  # Helicone refuses a shift of more than a day either way
MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer a JavaScript client reads exactly

# -- The service ----------------------------------------------------------------------------
SERVICE_HOST = "127.0.0.1"
SERVICE_PORT = 8765
SERVICE_MAX_BODY = 64 * 1024  # bytes of a request body, by default
MAX_BODY_LIMIT = 64 * 1024 * 1024  # the most `--max-body-bytes` (or `max_body`) may be
MAX_MAP_KEYS = 10_000  # known map keys a completion request may send
MAX_MAP_KEY_LENGTH = 1_000

# -- Extras -----------------------------------------------------------------------------------


def install_hint(extra: str) -> str:
    """How to install an extra, from an index and from a clone.

    Example:
        >>> install_hint("server")
        "pip install 'helicone-filter[server]' (from a clone: pip install -e '.[server]')"
    """
    return f"pip install '{PROG}[{extra}]' (from a clone: pip install -e '.[{extra}]')"
