"""`python -m app`: validate the settings, then serve on HOST:PORT with uvicorn."""

import sys

import uvicorn

from app.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 2
    from app.main import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(),
                proxy_headers=False)  # X-Forwarded-* are judged by app/auth/proxy.py
    return 0


if __name__ == "__main__":
    sys.exit(main())
