"""A real scheduler process whose clock the test moves (the live tests): it ticks once each time the clock file
names a new instant, then writes "<instant> <fires made so far>" to its ack file. "stop" ends it.

    python -m tests.studio.schedules.driver CLOCK_FILE ACK_FILE
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    clock_file, ack_file = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from studio.schedules.scheduler import Scheduler

    now: dict = {}
    scheduler = Scheduler(clock=lambda: now["at"])
    scheduler.recover()
    seen, fired = "", 0
    while True:
        text = clock_file.read_text().strip() if clock_file.exists() else ""
        if text == "stop":
            return
        if text and text != seen:
            now["at"] = datetime.fromisoformat(text)
            fired += scheduler.tick()["fired"]
            seen = text
            partial = ack_file.with_suffix(".tmp")
            partial.write_text(f"{text} {fired}")
            partial.replace(ack_file)
        time.sleep(0.005)


if __name__ == "__main__":
    main()
