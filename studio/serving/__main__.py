"""`python -m studio.serving [--host H] [--port P]`: one serving process on uvicorn (uvloop, httptools)."""
from __future__ import annotations

import argparse
import logging
import os


def main(argv=None) -> None:
    from . import keep_freed_memory, keep_training_code_out

    keep_training_code_out()
    keep_freed_memory()
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m studio.serving", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SERVING_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVING_PORT", "8001")))
    parser.add_argument("--registry", help="registry file (default: $STUDIO_DATA_DIR/serving/registry.json)")
    args = parser.parse_args(argv)
    if args.registry:
        os.environ["SERVING_REGISTRY"] = args.registry
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    # proxy_headers off: uvicorn's ProxyHeadersMiddleware rewrites each request's client address from
    # X-Forwarded-For, which nothing here reads (keys, not addresses, bound a client), at a cost on every request.
    uvicorn.run("studio.serving.app:app_from_environment", factory=True, host=args.host, port=args.port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning", lifespan="on",
                proxy_headers=False)


if __name__ == "__main__":
    main()
