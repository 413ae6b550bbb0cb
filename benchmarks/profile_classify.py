"""Profile ``POST /v1/classify`` end to end in one process with pyinstrument (``pip install pyinstrument``).

The app runs with its lifespan (model, micro-batcher, SQLite) behind httpx's ASGI transport, so
the profile holds the middleware, routing, dependencies, validation, the batcher's hand-off to
the inference thread, serialisation and logging, but not uvicorn's socket and HTTP parsing.

    python benchmarks/profile_classify.py --model M --requests 300 -o /tmp/classify.html
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ticketguard.service.app import create_app
from ticketguard.service.log import configure_logging
from ticketguard.service.settings import Settings

TEXT = "Third double charge this year. Reverse it by Friday or I file a chargeback."


async def run(settings: Settings, requests: int, out: Path | None) -> None:
    from pyinstrument import Profiler  # optional: only this script needs it

    app = create_app(settings)
    key = settings.api_keys[0].get_secret_value()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers={"X-API-Key": key}) as client:
            for _ in range(20):  # warm-up
                assert (await client.post("/v1/classify", json={"text": TEXT})).status_code == 200
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            started = time.perf_counter()
            with profiler:
                for _ in range(requests):
                    await client.post("/v1/classify", json={"text": TEXT})
            elapsed = time.perf_counter() - started
    print(f"{requests} sequential requests: {1000 * elapsed / requests:.2f} ms each (profiled)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if out is not None:
        out.write_text(profiler.output_html(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("-o", "--out", type=Path, help="also write the HTML profile here")
    args = parser.parse_args()
    if importlib.util.find_spec("pyinstrument") is None:
        sys.exit("pyinstrument is missing: pip install pyinstrument")
    configure_logging(log_format="json", level="INFO")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, model_path=args.model, cache_dir=Path(tmp),  # type: ignore[call-arg]
                            api_keys=secrets.token_hex(16))
        asyncio.run(run(settings, args.requests, args.out))


if __name__ == "__main__":
    main()
