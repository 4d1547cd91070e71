"""Upload throughput and the web process's memory while a large CSV streams in, on a real uvicorn web process:

    .venv/bin/python benchmarks/upload_stream.py [--mb 500]

Prints MB/s (file bytes over the request's wall time, sniff and preview included) and how much the web
process's peak RSS (VmHWM) grew. tests/studio/test_upload_streaming.py uses the same helpers.
"""
from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BLOCK_ROWS = 20_000


def write_csv(path: Path, megabytes: int) -> int:
    """A CSV of about `megabytes` MB (10^6 bytes): an unnamed row-number column, numbers, a yes/no label.
    One block of BLOCK_ROWS rows is formatted and written again and again (the row numbers restart with each
    block): formatting every row of 500 MB in Python took longer than uploading it. Returns its size."""
    target = megabytes * 1_000_000
    block = "".join(f"{i},{(i * 37) % 10_000 / 100:.2f},{(i * 7919) % 1000},{'yes' if i % 3 else 'no'}\n"
                    for i in range(BLOCK_ROWS)).encode()
    with open(path, "wb") as out:
        out.write(b",amount,score,churn\n")
        while out.tell() < target:
            out.write(block)
    return path.stat().st_size


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


def post_file(port: int, token: str, project: int, path: Path, chunk: int = 1 << 20) -> tuple[int, bytes, float]:
    """POST /api/uploads/ as multipart/form-data, the file read and sent a chunk at a time (the client holds no
    more than one chunk either). Returns (status, body, seconds)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"project\"\r\n\r\n{project}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                yield block
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("POST", "/api/uploads/", body=body(), headers={
        "Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail))})
    response = connection.getresponse()
    answer = response.read()
    seconds = time.perf_counter() - started
    connection.close()
    return response.status, answer, seconds


def main() -> None:
    from tests.studio.live import LiveStudio

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = write_csv(root / "big.csv", args.mb)
        studio = LiveStudio(root)
        try:
            project = studio.get("/api/projects/")["results"][0]["id"]
            small = root / "small.csv"
            small.write_text(",a,churn\n0,1,yes\n1,2,no\n")
            post_file(studio.port, studio.token, project, small)  # imports (pandas, ...) loaded before measuring
            before = peak_rss_kib(studio.web.pid)
            status, _, seconds = post_file(studio.port, studio.token, project, root / "big.csv")
            after = peak_rss_kib(studio.web.pid)
        finally:
            studio.close()
    print(f"upload of {size / 1e6:,.0f} MB: HTTP {status}, {seconds:.1f} s, {size / 1e6 / seconds:,.1f} MB/s; "
          f"web process peak RSS {before / 1024:,.0f} -> {after / 1024:,.0f} MiB (+{(after - before) / 1024:,.1f})")


if __name__ == "__main__":
    main()
